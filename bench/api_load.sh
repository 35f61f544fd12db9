#!/usr/bin/env bash
# `lore api` under load, beside MLflow's own scoring server, on loopback with wrk: 1-row
# requests to the sample SubscribersDeclared fitting (the sample Subscribers pipeline, declared
# in TOML so that nothing is compiled) by Lore's own route and by MLflow's /invocations, the
# same server's /livez, and `mlflow models serve` (one worker) serving the same booster (Python's
# xgboost loads Lore's model.json) on one already-encoded row. 64 connections, 2 wrk threads,
# DURATION seconds each, ROUNDS rounds with the four targets alternating; prints each run and
# the medians with the ratios. Then 20 s of load on the native route while the fitting is
# promoted and rolled back 10 times (SIGHUP after each), counting failed answers.
# Needs wrk (Debian package) and a Python with mlflow and xgboost-cpu from PyPI ($MLFLOW_PYTHON,
# default ~/.cache/lore/mlflow/bin/python); without it MLflow's server is left out.
# Usage: bench/api_load.sh [DURATION=10] [ROUNDS=3]
set -euo pipefail
duration="${1:-10}"
rounds="${2:-3}"
lore="${CARGO_TARGET_DIR:-$HOME/.cache/lore/target}/release/lore"
mlflow_python="${MLFLOW_PYTHON:-$HOME/.cache/lore/mlflow/bin/python}"
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
cd "$work"
"$lore" -q init bench >/dev/null
cd bench
"$lore" -q fit SubscribersDeclared >/dev/null
"$lore" -q fit SubscribersDeclared -p max_depth=5 >/dev/null
ids=($(ls models/SubscribersDeclared))
"$lore" api --port 0 --refresh 0 >"$work/api.out" 2>"$work/api.err" &
server=$!
pids+=("$server")
for _ in $(seq 1 100); do grep -q "http://" "$work/api.out" 2>/dev/null && break; sleep 0.1; done
port="$(grep -o 'http://[^ ]*' "$work/api.out" | head -n 1 | sed 's/.*://')"
record='{"first_name":"John","email":"john1@gmail.com","signup_date":"2015-01-02 10:00:00","last_order_at":"2018-05-01 09:00:00","orders":12,"basket_value":55.5,"sessions_30d":4}'
body() { # a wrk script that POSTs $1 as JSON
  local escaped="${1//\\/\\\\}"
  escaped="${escaped//\"/\\\"}"
  printf 'wrk.method = "POST"\nwrk.body = "%s"\nwrk.headers["Content-Type"] = "application/json"\n' "$escaped"
}
body "[$record]" >"$work/native.lua"
body "{\"dataframe_records\": [$record]}" >"$work/invocations.lua"
printf '' >"$work/get.lua"

targets=(livez native invocations)
declare -A url script
url[livez]="http://127.0.0.1:$port/livez"; script[livez]="$work/get.lua"
url[native]="http://127.0.0.1:$port/models/SubscribersDeclared/predict"; script[native]="$work/native.lua"
url[invocations]="http://127.0.0.1:$port/invocations"; script[invocations]="$work/invocations.lua"

if "$mlflow_python" -c "import mlflow, xgboost" 2>/dev/null; then
  fitting="models/SubscribersDeclared/${ids[1]}"
  "$mlflow_python" - "$fitting" "$work/mlflow-model" "$work/mlflow.lua" <<'PY'
import json, sys
import mlflow.xgboost, xgboost
fitting, out, script = sys.argv[1:]
booster = xgboost.Booster()
booster.load_model(f"{fitting}/model.json")
mlflow.xgboost.save_model(booster, out)
row = [0.5] * booster.num_features()
names = booster.feature_names or [f"f{i}" for i in range(len(row))]
body = json.dumps({"dataframe_split": {"columns": names, "data": [row]}}).replace('"', '\\"')
open(script, "w").write(f'wrk.method = "POST"\nwrk.body = "{body}"\nwrk.headers["Content-Type"] = "application/json"\n')
PY
  mlflow_port=$((port + 1))
  PATH="$(dirname "$mlflow_python"):$PATH" "$(dirname "$mlflow_python")/mlflow" models serve -m "$work/mlflow-model" --env-manager local \
    -h 127.0.0.1 -p "$mlflow_port" -w 1 >"$work/mlflow.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$mlflow_port/ping" >/dev/null && break; sleep 0.2; done
  check="$(curl -s -X POST -H 'Content-Type: application/json' --data @<(sed -n 's/^wrk.body = "\(.*\)"$/\1/p' "$work/mlflow.lua" | sed 's/\\"/"/g') "http://127.0.0.1:$mlflow_port/invocations" || true)"
  echo "MLflow answers: $check"
  targets+=(mlflow)
  url[mlflow]="http://127.0.0.1:$mlflow_port/invocations"; script[mlflow]="$work/mlflow.lua"
else
  echo "no mlflow in $mlflow_python: MLflow's server is left out"
fi
echo "Lore answers: $(curl -s -X POST -H 'Content-Type: application/json' --data "[$record]" "${url[native]}")"

# wrk's "Requests/sec" and its 50% and 99% latencies (in ms), and the non-2xx count.
run() {
  local out
  out="$(wrk -t2 -c64 -d"${duration}s" --latency -s "${script[$1]}" "${url[$1]}")"
  local rps p50 p99 bad
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  bad="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  printf '%s %s %s %s %s\n' "$1" "$rps" "$(ms "$p50")" "$(ms "$p99")" "${bad:-0}" | tee -a "$work/runs"
}
ms() { # wrk's 1.23ms / 456.00us / 1.2s as milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
echo "target requests/s p50_ms p99_ms non_2xx"
for round in $(seq 1 "$rounds"); do
  for t in "${targets[@]}"; do run "$t"; done
done
python3 - "$work/runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    t, rps, p50, p99, bad = line.split()
    runs.setdefault(t, []).append((float(rps), float(p50), float(p99), int(bad)))
med = {t: [statistics.median(x[i] for x in v) for i in range(3)] + [sum(x[3] for x in v)] for t, v in runs.items()}
print("\nmedians: target requests/s p50_ms p99_ms failed")
for t, (rps, p50, p99, bad) in med.items():
    print(f"  {t:12} {rps:>10,.0f} {p50:8.3f} {p99:8.3f} {bad}")
print(f"native / livez throughput: {med['native'][0] / med['livez'][0]:.2f}")
print(f"invocations / livez throughput: {med['invocations'][0] / med['livez'][0]:.2f}")
if "mlflow" in med:
    print(f"native / MLflow throughput: {med['native'][0] / med['mlflow'][0]:.1f}x; p99 {med['native'][2] / med['mlflow'][2]:.3f} of MLflow's")
    print(f"invocations / MLflow throughput: {med['invocations'][0] / med['mlflow'][0]:.1f}x; p99 {med['invocations'][2] / med['mlflow'][2]:.3f} of MLflow's")
PY

echo
echo "20 s of load on the native route, promoting ${ids[0]} and rolling back 10 times:"
(
  sleep 1
  for i in $(seq 1 10); do
    if (( i % 2 )); then "$lore" -q models promote SubscribersDeclared "${ids[0]}" >/dev/null
    else "$lore" -q models rollback SubscribersDeclared >/dev/null; fi
    kill -HUP "$server"
    sleep 1.8
  done
) &
flips=$!
out="$(wrk -t2 -c64 -d20s -s "$work/native.lua" "${url[native]}")"
wait "$flips"
echo "$out" | grep -E "requests in|Non-2xx|Socket errors" || true
echo "swaps seen by the server: $(curl -s "http://127.0.0.1:$port/metrics" | awk '/^lore_fitting_swaps_total/ {print $2}')"
echo "failed answers: $(awk '/Non-2xx/ {print $5}' <<<"$out" | grep . || echo 0)"
