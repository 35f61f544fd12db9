#!/usr/bin/env bash
# The 1M-row `users` table of shared/bench/gen_data.py read into memory by Lore and by its peers,
# side by side in one run: each read a fresh process, the readers alternating for ROUNDS rounds,
# all running the same query (the sample extract's: 8 columns, ORDER BY id). Readers:
# `lore extract` (SQLite's C API into polars columns), ConnectorX to Arrow, the ADBC SQLite
# driver to Arrow, and pandas.read_sql over Python's sqlite3. Prints wall seconds and peak RSS of
# each run, the medians, and Lore's ratio to the fastest peer; then Lore's size of the frame, and
# the query cache (the first cached read queries and writes data/cache/, the second reads it).
# Peers need a Python with connectorx, adbc-driver-sqlite, pandas and pyarrow from PyPI
# ($PEERS_PYTHON, default ~/.cache/lore/python/bin/python); those it lacks are left out.
# With PG_URL set (a PostgreSQL such as scripts/postgres starts), the same table is loaded there
# (through psql's \copy, when it does not hold 1M rows yet) and read by Lore, ConnectorX and the
# ADBC PostgreSQL driver the same way.
# Usage: [PG_URL=postgres://...] bench/extract_1m.sh [USERS_SQLITE] [ROUNDS=3]
# (default /tmp/users_1M.sqlite, generated if missing; generating needs Python 3 with numpy).
set -euo pipefail
source "$(dirname "$0")/project.sh"
data="${1:-/tmp/users_1M.sqlite}"
rounds="${2:-3}"
python="${PEERS_PYTHON:-$HOME/.cache/lore/python/bin/python}"
bench_project "$data" 1000000
query="SELECT first_name, email, signup_date, last_order_at, orders, basket_value, sessions_30d, has_subscription FROM users ORDER BY id LIMIT 1000000"
cat >"$work/peer.py" <<'PY'
import sys
reader, path, query = sys.argv[1:]
postgres = path.startswith("postgres")
if reader == "connectorx":
    import connectorx
    url = path.replace("postgres://", "postgresql://", 1) if postgres else f"sqlite://{path}"
    table = connectorx.read_sql(url, query, return_type="arrow")
    rows = table.num_rows
elif reader == "adbc":
    if postgres:
        import adbc_driver_postgresql.dbapi as adbc
    else:
        import adbc_driver_sqlite.dbapi as adbc
    with adbc.connect(path) as conn, conn.cursor() as cur:
        cur.execute(query)
        rows = cur.fetch_arrow_table().num_rows
else:
    import sqlite3, pandas
    with sqlite3.connect(path) as conn:
        rows = len(pandas.read_sql(query, conn))
assert rows == 1000000, rows
PY
readers=(lore)
for peer in connectorx adbc pandas; do
  module="$peer"
  [ "$peer" = adbc ] && module=adbc_driver_sqlite
  if "$python" -c "import $module, pyarrow" 2>/dev/null; then readers+=("$peer"); else echo "no $module in $python: $peer left out"; fi
done
# Wall seconds and peak RSS in MB (10^6 bytes, as `--timing` counts the frame) of one read by
# $1 from $2 (a SQLite file or a PostgreSQL URL).
run() {
  local out
  if [ "$1" = lore ]; then
    local url="sqlite://$2"
    case "$2" in postgres*) url="$2" ;; esac
    out="$(DATABASE_URL="$url" /usr/bin/time -f "%e %M" "$lore" -q extract users --param limit=1000000 --limit 1 2>&1 >/dev/null | tail -n 1)"
  else
    out="$(/usr/bin/time -f "%e %M" "$python" "$work/peer.py" "$1" "$2" "$query" 2>&1 | tail -n 1)"
  fi
  echo "$out" | awk '{printf "%.2f %.0f", $1, $2 * 1024 / 1e6}'
}
# ROUNDS rounds of the readers $2... on source $1, then the medians and Lore's ratios.
compare() {
  local source="$1"; shift
  local -A seconds=() rss=()
  echo "reader seconds peak_rss_MB"
  for _ in $(seq 1 "$rounds"); do
    for reader in "$@"; do
      read -r s m <<<"$(run "$reader" "$source")"
      echo "$reader $s $m"
      seconds[$reader]+="$s "
      rss[$reader]+="$m "
    done
  done
  echo
  echo "medians: reader seconds peak_rss_MB"
  local lore_s fastest="" s m
  lore_s="$(echo "${seconds[lore]}" | median)"
  for reader in "$@"; do
    s="$(echo "${seconds[$reader]}" | median)"; m="$(echo "${rss[$reader]}" | median)"
    printf '  %-11s %6s %6s\n' "$reader" "$s" "$m"
    [ "$reader" = lore ] && continue
    awk -v l="$lore_s" -v p="$s" -v r="$reader" 'BEGIN{printf "    lore / %s: %.2f\n", r, l / p}'
    if [ -z "$fastest" ] || awk -v a="$s" -v b="$fastest" 'BEGIN{exit !(a<b)}'; then fastest="$s"; fi
  done
  [ -n "$fastest" ] && awk -v l="$lore_s" -v f="$fastest" 'BEGIN{printf "lore / fastest peer: %.2f\n", l / f}'
  lore_rss="$(echo "${rss[lore]}" | median)"
  return 0
}
echo "== SQLite ($data)"
compare "$data" "${readers[@]}"
sqlite_lore_rss="$lore_rss"
if [ -n "${PG_URL:-}" ]; then
  echo
  echo "== PostgreSQL"
  psql="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql"
  held="$("$psql" "$PG_URL" -Atc "SELECT count(*) FROM users" 2>/dev/null || echo 0)"
  if [ "$held" != 1000000 ]; then
    "$lore" -q extract users --param limit=1000000 --output "$work/users.csv" >/dev/null
    "$psql" "$PG_URL" -q -c "DROP TABLE IF EXISTS users" -c "CREATE TABLE users (first_name TEXT, email TEXT, signup_date TEXT, last_order_at TEXT, orders BIGINT, basket_value DOUBLE PRECISION, sessions_30d BIGINT, has_subscription BIGINT, id BIGSERIAL PRIMARY KEY)" \
      -c "\\copy users (first_name, email, signup_date, last_order_at, orders, basket_value, sessions_30d, has_subscription) FROM '$work/users.csv' CSV HEADER" -c "ANALYZE users"
  fi
  pg_readers=(lore)
  for peer in connectorx adbc; do
    module="$peer"
    [ "$peer" = adbc ] && module=adbc_driver_postgresql
    if "$python" -c "import $module, pyarrow" 2>/dev/null; then pg_readers+=("$peer"); fi
  done
  compare "$PG_URL" "${pg_readers[@]}"
fi
echo
timing="$("$lore" -q extract users --param limit=1000000 --limit 1 --timing 2>&1 >/dev/null | tail -n 1)"
echo "Lore's read: $timing"
# The frame's size is what its columns hold (text: a 16-byte view a value, and the bytes of texts
# over 12 bytes), as `--timing` reports it.
echo "$timing" | awk -v r="$sqlite_lore_rss" '{for (i = 1; i < NF; i++) if ($(i + 1) == "MB") m = $i}
  END{printf "Lore'"'"'s peak RSS on SQLite (median) / its frame: %s MB / %s MB = %.2f\n", r, m, r / m}'
"$lore" -q cache clear >/dev/null
echo "cached, first (query):   $(/usr/bin/time -f "%e s wall, %M KB peak RSS" "$lore" -q extract users --param limit=1000000 --limit 1 --cache 2>&1 >/dev/null | tail -n 1)"
echo "cached, second (disk):   $(/usr/bin/time -f "%e s wall, %M KB peak RSS" "$lore" -q extract users --param limit=1000000 --limit 1 --cache 2>&1 >/dev/null | tail -n 1)"
