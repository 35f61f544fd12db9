#!/usr/bin/env bash
# The whole `lore fit SubscribersDeclared` process on the 1M-row `users` table (extract,
# transformers, encoders, XGBoost, evaluation, report, save) beside bench/fit_pandas.py, the same
# model written with pandas, scikit-learn and xgboost, each a fresh process, pairs alternating
# for ROUNDS rounds. Prints each run's wall seconds, peak RSS and test AUC, the medians, and
# Lore's ratio to the script; then Lore's own stage seconds.
# The script needs a Python with pandas, scikit-learn, xgboost and pyarrow from PyPI
# ($PEERS_PYTHON, default ~/.cache/lore/python/bin/python).
# Usage: bench/fit_1m.sh [USERS_SQLITE] [ROUNDS=5]
# (default /tmp/users_1M.sqlite, generated if missing; generating needs Python 3 with numpy).
set -euo pipefail
source "$(dirname "$0")/project.sh"
checkout="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-/tmp/users_1M.sqlite}"
rounds="${2:-5}"
python="${PEERS_PYTHON:-$HOME/.cache/lore/python/bin/python}"
bench_project "$data" 1000000
# Wall seconds, peak RSS in MB and test AUC of one whole fit by $1.
run() {
  local time="$work/time" auc
  if [ "$1" = lore ]; then
    auc="$(/usr/bin/time -o "$time" -f "%e %M" "$lore" -q fit SubscribersDeclared --force --json \
      | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["stats"]["test"]["auc"])')"
  else
    auc="$(/usr/bin/time -o "$time" -f "%e %M" "$python" "$checkout/bench/fit_pandas.py" "$data" \
      "$checkout/../shared/bench/data/names.csv" "$work/pandas" \
      | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["test_auc"])')"
  fi
  awk -v auc="$auc" '{printf "%.2f %.0f %s", $1, $2 / 1024, auc}' "$time"
}
declare -A seconds=() rss=()
echo "fit seconds peak_rss_MB test_auc"
for _ in $(seq 1 "$rounds"); do
  for fit in lore pandas; do
    read -r s m a <<<"$(run "$fit")"
    echo "$fit $s $m $a"
    seconds[$fit]+="$s "
    rss[$fit]+="$m "
  done
done
echo
echo "medians: fit seconds peak_rss_MB"
for fit in lore pandas; do
  printf '  %-7s %6s %6s\n' "$fit" "$(echo "${seconds[$fit]}" | median)" "$(echo "${rss[$fit]}" | median)"
done
awk -v l="$(echo "${seconds[lore]}" | median)" -v p="$(echo "${seconds[pandas]}" | median)" \
  'BEGIN{printf "lore / pandas script: %.2f\n", l / p}'
"$lore" -q fit SubscribersDeclared --force --json | python3 -c '
import json, sys
s = json.load(sys.stdin)["stats"]
print("lore stages (s):", {k: round(v, 3) for k, v in s["seconds"].items()})'
