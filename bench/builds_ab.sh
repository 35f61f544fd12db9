#!/usr/bin/env bash
# Two builds of `lore` side by side on the 1M-row `users` table, runs alternating: the same
# SubscribersDeclared fit (the pipeline of bench/pipeline_1m.sh, XGBoost as bench/xgboost_1m.sh
# fits it), each run a fresh process; prints the medians of `stats.json` seconds (transformers +
# encoder fit, split, encoding, estimator fit) and the test AUC of each build. For checking that a
# refactor left speed and results where they were.
# Usage: bench/builds_ab.sh OLD_LORE NEW_LORE [USERS_SQLITE] [RUNS] (defaults /tmp/users_1M.sqlite,
# 5 runs each).
set -euo pipefail
source "$(dirname "$0")/project.sh"
old="$1" new="$2" data="${3:-/tmp/users_1M.sqlite}" runs="${4:-5}"
bench_project "$data" 1000000
for run in $(seq "$runs"); do
  for build in old new; do
    binary="$old"; [ "$build" = new ] && binary="$new"
    "$binary" -q fit SubscribersDeclared --force --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["stats"]; t = s["seconds"]
print(sys.argv[1], t["transform"], t["split"], t["encode"], t["fit"], repr(s["test"]["auc"]))' "$build"
  done
done >"$work/times"
for build in old new; do
  grep "^$build " "$work/times" >"$work/$build"
  printf '%s: transformers + encoder fit %.3f s, split %.3f s, encode %.3f s, estimator fit %.2f s; test AUC %s\n' \
    "$build" \
    "$(cut -d' ' -f2 "$work/$build" | median)" "$(cut -d' ' -f3 "$work/$build" | median)" \
    "$(cut -d' ' -f4 "$work/$build" | median)" "$(cut -d' ' -f5 "$work/$build" | median)" \
    "$(cut -d' ' -f6 "$work/$build" | sort -u | tr '\n' ' ')"
done
