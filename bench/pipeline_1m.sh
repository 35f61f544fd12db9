#!/usr/bin/env bash
# Times the subscribers pipeline of Python Lore's benchmark (../shared/bench/README.md: nine
# encoders over NameAge, NameSex, EmailDomain, DateTime, Age and LogPlusOne) on the 1M-row `users`
# table: transformers + encoder fit, the split, and the encoding of the three splits, for the
# declared (TOML) and the Rust model, three runs each.
# Usage: bench/pipeline_1m.sh [USERS_SQLITE] (default /tmp/users_1M.sqlite, generated if missing,
# which needs Python 3 with numpy).
set -euo pipefail
source "$(dirname "$0")/project.sh"
data="${1:-/tmp/users_1M.sqlite}"
bench_project "$data" 1000000
for model in SubscribersDeclared Subscribers; do
  for run in 1 2 3; do
    "$lore" -q fit "$model" --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["stats"]; t = s["seconds"]
fit, split, encode = t["transform"], t["split"], t["encode"]
print("%-20s transformers+fit encoders %.3f s, encode %.3f s, together %.3f s (%.1fx Python Lore encode 5.32 s); "
      "split %.3f s; all three %.3f s (%.1fx Python split+encode 6.34 s); test AUC %.4f"
      % (sys.argv[1], fit, encode, fit + encode, 5.32 / (fit + encode), split, fit + split + encode,
         6.34 / (fit + split + encode), s["test"]["auc"]))' "$model"
  done
done
