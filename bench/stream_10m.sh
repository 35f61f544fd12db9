#!/usr/bin/env bash
# Fits SubscribersDeclared on the 10M-row `users` table of shared/bench/gen_data.py, streamed
# (batch_rows) and read whole, and prints wall seconds and peak RSS of each, with the size of the
# data. Usage: bench/stream_10m.sh [USERS_SQLITE] [BATCH_ROWS]
# (default /tmp/users_10M.sqlite, generated if missing, which needs Python 3 with numpy; 100000).
set -euo pipefail
source "$(dirname "$0")/project.sh"
data="${1:-/tmp/users_10M.sqlite}"
batch="${2:-100000}"
bench_project "$data" 10000000
echo "data: $(du -m "$data" | cut -f1) MB of SQLite"
fit() {
  /usr/bin/time -f "%e s wall, %M KB peak RSS" "$lore" -q fit SubscribersDeclared --param limit=20000000 "$@" --json 2>"$work/time" \
    | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]; print("test AUC %.4f, %d train rows," % (s["test"]["auc"], s["train"]["rows"]), end=" ")'
  tail -n 1 "$work/time"
}
echo "streamed (batch_rows=$batch): $(fit --param batch_rows="$batch")"
echo "read whole:                   $(fit)"
