#!/usr/bin/env bash
# XGBoost's fit time (`seconds.fit` of `lore fit SubscribersDeclared`, 100,000 sample rows) with
# OpenMP's threads spinning while they wait (OMP_WAIT_POLICY=active, OpenMP's own default) and
# sleeping (Lore's default, passive), on an idle machine and while one busy loop a core keeps
# every core busy, as a build does. Pairs alternate; prints each run and the medians.
# Usage: bench/fit_busy.sh [PAIRS]
set -euo pipefail
pairs="${1:-5}"
source "$(dirname "$0")/project.sh"
sample_fitted 100000
hogs=()
trap 'kill "${hogs[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
fit_seconds() {
  env "$@" "$lore" -q fit SubscribersDeclared --force --json \
    | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["stats"]["seconds"]["fit"], 3))'
}
for load in idle busy; do
  if [ "$load" = busy ]; then
    for _ in $(seq 1 "$(nproc)"); do
      (while :; do :; done) &
      hogs+=("$!")
    done
  fi
  active=() passive=()
  for _ in $(seq 1 "$pairs"); do
    active+=("$(fit_seconds OMP_WAIT_POLICY=active)")
    passive+=("$(fit_seconds OMP_WAIT_POLICY=passive)")
  done
  echo "$load: active ${active[*]} | passive ${passive[*]}"
  echo "$load: median active $(echo "${active[*]}" | median) s, passive $(echo "${passive[*]}" | median) s"
done
