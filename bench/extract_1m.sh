#!/usr/bin/env bash
# Reads the 1M-row `users` table of shared/bench/gen_data.py through `lore extract` (SQLite),
# then through the query cache: the first cached read queries and writes data/cache/, the second
# (a new process) reads the Parquet file. Prints wall seconds and peak RSS of each.
# Usage: bench/extract_1m.sh [USERS_SQLITE]   (default /tmp/users_1M.sqlite, generated if missing;
# generating needs Python 3 with numpy).
set -euo pipefail
source "$(dirname "$0")/project.sh"
data="${1:-/tmp/users_1M.sqlite}"
bench_project "$data" 1000000
run() {
  /usr/bin/time -f "%e s wall, %M KB peak RSS" "$lore" -q extract users --param limit=1000000 --limit 1 "$@" 2>&1 >/dev/null | tail -n 1
}
echo "query (no cache):        $(run)"
"$lore" -q cache clear >/dev/null
echo "cached, first (query):   $(run --cache)"
echo "cached, second (disk):   $(run --cache)"
"$lore" cache ls | tail -n 1
