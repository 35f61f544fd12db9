#!/usr/bin/env bash
# What hostile requests cost `lore api`: 1,000 records of 200 different fields each (2.6 MB) and
# one record of 100,000 fields (1.1 MB), each sent 100 times, while another client asks /health
# every 10 ms. Prints the time to each refusal, /health's median and slowest answer meanwhile,
# and the server's resident memory before and after. A throwaway project of 2,000 sample rows
# with SubscribersDeclared fitted; loopback only.
# Usage: bench/api_abuse.sh
set -euo pipefail
source "$(dirname "$0")/project.sh"
sample_fitted 2000
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
"$lore" api --port 0 >"$work/api.out" 2>"$work/api.err" &
server=$!
for _ in $(seq 1 100); do grep -q "http://" "$work/api.out" 2>/dev/null && break; sleep 0.1; done
port="$(grep -o 'http://[^ ]*' "$work/api.out" | head -n 1 | sed 's/.*://')"
python3 - "$port" "$server" <<'PY'
import http.client, json, statistics, sys, threading, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
def post(body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t = time.perf_counter()
    c.request("POST", "/models/SubscribersDeclared/predict", body, {"Content-Type": "application/json"})
    r = c.getresponse(); r.read(); c.close()
    return r.status, time.perf_counter() - t
good = json.dumps([{"first_name": "John", "email": "j@gmail.com", "signup_date": "2015-01-02 10:00:00",
                    "last_order_at": "2018-05-01 09:00:00", "orders": 12, "basket_value": 55.5, "sessions_30d": 4}])
for _ in range(50):
    post(good)
before = rss()
spread = json.dumps([{f"f{r}_{k}": k for k in range(200)} for r in range(1000)])
wide = json.dumps([{f"k{k}": 1 for k in range(100_000)}])
health, stop = [], threading.Event()
def poll():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        t = time.perf_counter()
        c.request("GET", "/health"); c.getresponse().read()
        health.append(time.perf_counter() - t)
        time.sleep(0.01)
poller = threading.Thread(target=poll); poller.start()
for name, body in [("1,000 records x 200 fields", spread), ("1 record x 100,000 fields", wide)]:
    times, codes = [], set()
    for _ in range(100):
        status, seconds = post(body)
        codes.add(status); times.append(seconds)
    print(f"{name} ({len(body) / 1e6:.1f} MB): status {sorted(codes)}, median {statistics.median(times) * 1e3:.1f} ms, slowest {max(times) * 1e3:.1f} ms")
stop.set(); poller.join()
health.sort()
print(f"/health meanwhile ({len(health)} asks): median {statistics.median(health) * 1e3:.2f} ms, slowest {health[-1] * 1e3:.2f} ms")
print(f"resident memory: {before} MB before, {rss()} MB after")
PY
