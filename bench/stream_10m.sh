#!/usr/bin/env bash
# Fits SubscribersDeclared on the 10M-row `users` table of shared/bench/gen_data.py, streamed
# (batch_rows) and read whole, and prints for each the wall seconds, the peak RSS (VmHWM, the last
# sample before it exits) and the peaks of its two parts, sampled from /proc/PID/status every
# 50 ms: RssAnon (the heap: frames, matrices, XGBoost) and RssFile (mapped files: the binary's
# pages, and a SQLite map of the database file where one is held), with the size of the data.
# Sizes are in MB of 2^20 bytes, as `du -m` gives the data's.
# Usage: bench/stream_10m.sh [USERS_SQLITE] [BATCH_ROWS]
# (default /tmp/users_10M.sqlite, generated if missing, which needs Python 3 with numpy; 100000).
set -euo pipefail
source "$(dirname "$0")/project.sh"
data="${1:-/tmp/users_10M.sqlite}"
batch="${2:-100000}"
bench_project "$data" 10000000
echo "data: $(du -m "$data" | cut -f1) MB of SQLite"
fit() {
  local started pid anon=0 file=0 peak=0 a f h
  started="$(date +%s.%N)"
  "$lore" -q fit SubscribersDeclared --param limit=20000000 "$@" --json >"$work/fit.json" 2>"$work/fit.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    read -r a f h < <(awk '/^RssAnon/{a=$2} /^RssFile/{f=$2} /^VmHWM/{h=$2} END{print a+0, f+0, h+0}' "/proc/$pid/status" 2>/dev/null || echo "0 0 0")
    ((a > anon)) && anon=$a
    ((f > file)) && file=$f
    ((h > peak)) && peak=$h
    sleep 0.05
  done
  wait "$pid" || { cat "$work/fit.err" >&2; return 1; }
  python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]; print("test AUC %.4f, %d train rows," % (s["test"]["auc"], s["train"]["rows"]), end=" ")' <"$work/fit.json"
  awk -v s="$started" -v e="$(date +%s.%N)" -v a="$anon" -v f="$file" -v p="$peak" \
    'BEGIN{printf "%.1f s wall, peak RSS %.0f MB (peaks: RssAnon %.0f MB, RssFile %.0f MB)\n", e - s, p / 1024, a / 1024, f / 1024}'
}
echo "streamed (batch_rows=$batch): $(fit --param batch_rows="$batch")"
echo "read whole:                   $(fit)"
