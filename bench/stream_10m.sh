#!/usr/bin/env bash
# Fits SubscribersDeclared on the 10M-row `users` table of shared/bench/gen_data.py, streamed
# (batch_rows) and read whole, and prints wall seconds and peak RSS of each, with the size of the
# data. Usage: bench/stream_10m.sh [USERS_SQLITE] [BATCH_ROWS]
# (default /tmp/users_10M.sqlite, generated if missing, which needs Python 3 with numpy; 100000).
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-/tmp/users_10M.sqlite}"
batch="${2:-100000}"
lore="${CARGO_TARGET_DIR:-$HOME/.cache/lore/target}/release/lore"
if [ ! -f "$data" ]; then
  python3 "$checkout/../shared/bench/gen_data.py" --rows 10000000 --sqlite "$data"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$lore" -q init bench --sample-rows 10 >/dev/null
cd bench
export DATABASE_URL="sqlite://$data"
echo "data: $(du -m "$data" | cut -f1) MB of SQLite"
fit() {
  /usr/bin/time -f "%e s wall, %M KB peak RSS" "$lore" -q fit SubscribersDeclared --param limit=20000000 "$@" --json 2>"$work/time" \
    | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]; print("test AUC %.4f, %d train rows," % (s["test"]["auc"], s["train"]["rows"]), end=" ")'
  tail -n 1 "$work/time"
}
echo "streamed (batch_rows=$batch): $(fit --param batch_rows="$batch")"
echo "read whole:                   $(fit)"
