#!/usr/bin/env bash
# Fits Lore's neural network (cargo feature `torch`) on the 1M-row `users` table: the
# SubscribersDeclared pipeline with its estimator table replaced by `NeuralNetwork` with its
# defaults (plus any KEY=VALUE estimator parameters given). Prints the fit's seconds, the best
# and last epoch, and the train / validation / test AUC.
# Usage: bench/network_1m.sh [USERS_SQLITE] [KEY=VALUE...]
#   USERS_SQLITE: default /tmp/users_1M.sqlite, generated if missing (Python 3 with numpy).
# Build first: eval "$(scripts/torch)"; cargo build --release --features lore-cli/torch
set -euo pipefail
source "$(dirname "$0")/project.sh"
data="${1:-/tmp/users_1M.sqlite}"
shift || true
bench_project "$data" 1000000
python3 - "$@" <<'PY'
import sys
text = open("src/models/subscribers_declared.toml").read()
pipeline = text.split("[estimator]")[0]
params = "".join(f"{k} = {v}\n" for k, v in (a.split("=", 1) for a in sys.argv[1:]))
open("src/models/deep.toml", "w").write(pipeline + '[estimator]\ntype = "NeuralNetwork"\n' + params)
PY
"$lore" -q fit Deep --json | python3 -c '
import json, sys
s = json.load(sys.stdin)["stats"]
print("network fit %.1f s, best epoch %d of %d, AUC train %.4f validation %.4f test %.4f"
      % (s["seconds"]["fit"], s["best_iteration"] + 1, s["rounds"],
         s["train"]["auc"], s["validation"]["auc"], s["test"]["auc"]))'
