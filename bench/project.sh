# Sourced by the bench scripts: `bench_project DATA ROWS` generates the `users` table of
# shared/bench/gen_data.py into DATA when it is missing (Python 3 with numpy), makes a throwaway
# project in a temporary folder (removed on exit), cds into it and points its main connection at
# DATA. Sets `lore` to the release binary and `work` to the temporary folder.
bench_project() {
  local data="$1" rows="$2" checkout
  checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  lore="${CARGO_TARGET_DIR:-$HOME/.cache/lore/target}/release/lore"
  if [ ! -f "$data" ]; then
    python3 "$checkout/../shared/bench/gen_data.py" --rows "$rows" --sqlite "$data"
  fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cd "$work"
  "$lore" -q init bench --sample-rows 10 >/dev/null
  cd bench
  export DATABASE_URL="sqlite://$data"
}

# Sourced likewise: `sample_fitted ROWS` makes a throwaway project of ROWS sample rows in a
# temporary folder (removed on exit), cds into it and fits SubscribersDeclared. Sets `lore` to the
# release binary and `work` to the temporary folder.
sample_fitted() {
  lore="${CARGO_TARGET_DIR:-$HOME/.cache/lore/target}/release/lore"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cd "$work"
  "$lore" -q init bench --sample-rows "$1" >/dev/null
  cd bench
  "$lore" -q fit SubscribersDeclared >/dev/null
}

# The median of the numbers on stdin (whitespace-separated).
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
