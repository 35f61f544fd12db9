#!/usr/bin/env bash
# Times Lore's XGBoost estimator against Python's xgboost of the same version on the same encoded
# matrix: SubscribersDeclared is fitted on the 1M-row `users` table with `--export`, then
# bench/xgboost_python.py fits Python's xgboost on the exported splits with the same parameters.
# Three runs each; prints Lore's `seconds.fit` and test AUC, then Python's.
# Usage: bench/xgboost_1m.sh [USERS_SQLITE] [PYTHON]
#   USERS_SQLITE: default /tmp/users_1M.sqlite, generated if missing (Python 3 with numpy).
#   PYTHON: an interpreter whose xgboost is the version Lore builds (XGBoost 3.4.1 here; PyPI has
#   no 3.4.1 wheel yet, so build it from the crate's own sources, as docs/performance.md says);
#   default ~/.cache/lore/pyxgb/bin/python.
set -euo pipefail
source "$(dirname "$0")/project.sh"
checkout="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-/tmp/users_1M.sqlite}"
python="${2:-$HOME/.cache/lore/pyxgb/bin/python}"
bench_project "$data" 1000000
for run in 1 2 3; do
  "$lore" -q fit SubscribersDeclared --export "$work/encoded" --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["stats"]
print("lore   fit %.3f s, best iteration %d of %d rounds, test AUC %.4f"
      % (s["seconds"]["fit"], s["best_iteration"], s["rounds"], s["test"]["auc"]))'
done
for run in 1 2 3; do
  "$python" "$checkout/bench/xgboost_python.py" "$work/encoded" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("python fit %.3f s, best iteration %d of %d rounds, test AUC %.4f (xgboost %s)"
      % (s["seconds"], s["best_iteration"], s["rounds"], s["test_auc"], s["xgboost"]))'
done
