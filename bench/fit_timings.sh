#!/usr/bin/env bash
# Times the main job: `lore init` (100,000 sample rows), the first `lore fit Subscribers` (builds
# the project's binary against the shared target folder), a repeated one (nothing to rebuild),
# and `lore fit SubscribersDeclared` (no compilation). Needs a release build of lore first
# (./scripts/demo or cargo build --release -p lore-cli).
# Usage: bench/fit_timings.sh [ROWS]
set -euo pipefail
rows="${1:-100000}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/lore/target}"
lore="$target/release/lore"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
name="bench$$"
t() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }; printf "%.2f" "$(echo "$(date +%s.%N) - $s" | bc)"; }
echo "lore init ($rows rows):            $(t "$lore" init "$name" --sample-rows "$rows") s"
cd "$name"
echo "first lore fit Subscribers:        $(t "$lore" fit Subscribers) s"
echo "repeated lore fit Subscribers:     $(t "$lore" fit Subscribers) s"
echo "lore fit SubscribersDeclared:      $(t "$lore" fit SubscribersDeclared) s"
"$lore" fit SubscribersDeclared --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]; print("stages (s):", {k: round(v, 3) for k, v in s["seconds"].items()}, "test AUC %.4f" % s["test"]["auc"])'
