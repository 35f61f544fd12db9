#!/usr/bin/env bash
# `lore check` against Evidently's DataDriftPreset, side by side in one run, on the 1M-row `users`
# table of shared/bench/gen_data.py: the reference is the table a 1M-row SubscribersDeclared
# fitting learned from (its profile.json), the current rows 1M rows of the same generator with
# another seed. Lore: `lore check --input current.parquet` (a fresh process: it reads the file,
# scores the rows with the model and checks every column and the scores). Evidently: the report
# on the same reference and current rows, already in memory as pandas frames (reading them is
# not timed), over first_name, orders, basket_value, sessions_30d and has_subscription. Runs
# alternate for ROUNDS rounds; prints each run's seconds, the medians, the ratio, and each
# column's test, score and decision from both.
# Evidently needs pandas < 3: a virtual environment of its own ($EVIDENTLY_PYTHON, default
# ~/.cache/lore/evidently/bin/python, made with `pip install evidently==0.7.23 "pandas<3"`),
# which also generates the tables (numpy) when they are missing.
# Usage: bench/check_1m.sh [USERS_SQLITE] [ROUNDS=3]
set -euo pipefail
python="${EVIDENTLY_PYTHON:-$HOME/.cache/lore/evidently/bin/python}"
data="${1:-/tmp/users_1M.sqlite}"
rounds="${2:-3}"
current_db="${data%.sqlite}_seed7.sqlite"
checkout="$(cd "$(dirname "$0")/.." && pwd)"
[ -f "$current_db" ] || "$python" "$checkout/../shared/bench/gen_data.py" --rows 1000000 --seed 7 --sqlite "$current_db"
[ -f "$data" ] || "$python" "$checkout/../shared/bench/gen_data.py" --rows 1000000 --sqlite "$data"
source "$(dirname "$0")/project.sh"
bench_project "$data" 1000000
"$lore" -q fit SubscribersDeclared >/dev/null
"$lore" -q extract users -p limit=1000000 -o "$work/reference.parquet" >/dev/null
DATABASE_URL="sqlite://$current_db" "$lore" -q extract users -p limit=1000000 -o "$work/current.parquet" >/dev/null
cat >"$work/evidently_check.py" <<'PY'
import json, sys, time
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset
reference_path, current_path, out = sys.argv[1:]
columns = ["first_name", "orders", "basket_value", "sessions_30d", "has_subscription"]
definition = DataDefinition(
    numerical_columns=["orders", "basket_value", "sessions_30d", "has_subscription"],
    categorical_columns=["first_name"],
)
reference = Dataset.from_pandas(pd.read_parquet(reference_path, columns=columns), data_definition=definition)
current = Dataset.from_pandas(pd.read_parquet(current_path, columns=columns), data_definition=definition)
started = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
seconds = time.perf_counter() - started
decisions = {}
for metric in snapshot.dict()["metrics"]:
    config = metric.get("config", {})
    column = config.get("column")
    if column is None or "method" not in config:
        continue
    value = metric["value"]
    threshold = config.get("threshold")
    method = config["method"]
    p_value = "p_value" in method or "p-value" in method
    drifted = value < threshold if p_value else value >= threshold
    decisions[column] = {"test": method, "value": value, "drifted": bool(drifted)}
json.dump({"seconds": seconds, "columns": decisions}, open(out, "w"))
print(seconds)
PY
: >"$work/times"
for round in $(seq "$rounds"); do
  start=$(date +%s.%N)
  set +e
  "$lore" -q check SubscribersDeclared --input "$work/current.parquet" --json >"$work/lore.json"
  set -e
  end=$(date +%s.%N)
  echo "lore $(echo "$end - $start" | bc)" >>"$work/times"
  echo "evidently $("$python" "$work/evidently_check.py" "$work/reference.parquet" "$work/current.parquet" "$work/evidently.json" 2>/dev/null)" >>"$work/times"
  tail -2 "$work/times"
done
lore_median=$(grep '^lore ' "$work/times" | cut -d' ' -f2 | median)
evidently_median=$(grep '^evidently ' "$work/times" | cut -d' ' -f2 | median)
printf 'medians: lore check %.2f s, Evidently DataDriftPreset %.2f s: Lore %.1fx faster\n' \
  "$lore_median" "$evidently_median" "$(echo "$evidently_median / $lore_median" | bc -l)"
python3 - "$work/lore.json" "$work/evidently.json" <<'PY'
import json, sys
lore = {c["name"]: c for c in json.load(open(sys.argv[1]))["report"]["columns"]}
evidently = json.load(open(sys.argv[2]))["columns"]
same = True
for name, theirs in sorted(evidently.items()):
    ours = lore[name]["drift"]
    agree = ours["drifted"] == theirs["drifted"]
    same &= agree
    print(f"{name:<18} lore {ours['test']:<15} {ours['value']:.5f} {'drift' if ours['drifted'] else 'no':<5}  "
          f"evidently {theirs['test']:<32} {theirs['value']:.5f} {'drift' if theirs['drifted'] else 'no':<5}  "
          f"{'same' if agree else 'DIFFERENT'}")
print("same decision for every column" if same else "decisions differ")
PY
