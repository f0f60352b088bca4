#!/usr/bin/env python3
"""Recalls and clicks at once (issue 30): wrk keeps 64 connections of POST /api/recall busy
while this script posts clicks at a steady rate and probes /api/health; afterwards every
acknowledged click must be in the user's history.

Usage: python3 scripts/load_clicks.py BINARY DATA_DIR [SECONDS] [CLICKS_PER_S] [OUT.md]
Prints the figures and, with OUT.md, writes them as a results file."""

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

binary, data_dir = sys.argv[1], sys.argv[2]
seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 60
rate = int(sys.argv[4]) if len(sys.argv) > 4 else 200
out_md = sys.argv[5] if len(sys.argv) > 5 else None
port = 19500 + random.randrange(400)
work = tempfile.mkdtemp(prefix="load-clicks-")
os.makedirs(f"{work}/static", exist_ok=True)
asins = open(f"{data_dir}/asin_list.txt").read().split()

server = subprocess.Popen(
    [binary, "serve", "--data-dir", data_dir, "--addr", f"127.0.0.1:{port}", "--dist-dir", f"{work}/static"],
    stderr=open(f"{work}/serve.log", "w"),
)


def request(conn, method, path, body=None):
    headers = {"content-type": "application/json"} if body is not None else {}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        if request(c, "GET", "/api/health")[0] == 200:
            break
    except OSError:
        time.sleep(0.1)

random.seed(11)
sample = random.sample(asins, min(2000, len(asins)))
lua = f"{work}/recall.lua"
with open(lua, "w") as f:
    f.write("local asins = {}\n")
    f.write(f'for line in io.lines("{work}/asins.txt") do asins[#asins + 1] = line end\n')
    f.write('math.randomseed(7)\nwrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
    f.write("request = function()\n  local c = {}\n  for i = 1, 10 do c[i] = '\"' .. asins[math.random(#asins)] .. '\"' end\n")
    f.write("  return wrk.format(nil, \"/api/recall\", nil, '{\"clicks\":[' .. table.concat(c, \",\") .. '],\"params\":{\"topn\":500}}')\nend\n")
open(f"{work}/asins.txt", "w").write("\n".join(sample) + "\n")

stop = threading.Event()
acked = []  # (user, click id)
click_errors = []
health_ms = []
health_errors = []


def clicker(worker, workers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    interval = workers / rate
    next_at = time.monotonic() + worker * interval / workers
    n = 0
    while not stop.is_set():
        now = time.monotonic()
        if now < next_at:
            time.sleep(next_at - now)
        next_at += interval
        user = f"load-{worker}-{n % 50}"
        n += 1
        try:
            status, body = request(conn, "POST", f"/api/users/{user}/clicks", {"asin": random.choice(sample)})
            if status == 201:
                acked.append((user, json.loads(body)["id"]))
            else:
                click_errors.append(status)
        except OSError as e:
            click_errors.append(str(e))
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def prober():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        t = time.monotonic()
        try:
            status, _ = request(conn, "GET", "/api/health")
            if status != 200:
                health_errors.append(status)
        except OSError as e:
            health_errors.append(str(e))
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        health_ms.append((time.monotonic() - t) * 1000)
        time.sleep(0.05)


wrk = subprocess.Popen(
    ["wrk", "-t", "2", "-c", "64", "-d", f"{seconds}s", "--latency", "-s", lua, f"http://127.0.0.1:{port}"],
    stdout=subprocess.PIPE, text=True,
)
workers = 8
threads = [threading.Thread(target=clicker, args=(w, workers)) for w in range(workers)]
threads.append(threading.Thread(target=prober))
for t in threads:
    t.start()
wrk_out = wrk.communicate()[0]
stop.set()
for t in threads:
    t.join()

# Every acknowledged click is in its user's history.
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
stored = {}
for user in sorted({u for u, _ in acked}):
    status, body = request(conn, "GET", f"/api/users/{user}/clicks")
    stored[user] = {c["id"] for c in json.loads(body)} if status == 200 else set()
lost = sum(1 for u, cid in acked if cid not in stored[u])
server.terminate()
server.wait()

non2xx = 0
for line in wrk_out.splitlines():
    if "Non-2xx" in line:
        non2xx += int(line.split()[-1])
rps = next(line.split()[1] for line in wrk_out.splitlines() if line.startswith("Requests/sec"))
p50 = next(line.split()[1] for line in wrk_out.splitlines() if line.strip().startswith("50%"))
health_ms.sort()
p99 = health_ms[int(len(health_ms) * 0.99) - 1]
figures = {
    "seconds": seconds,
    "recall_rps_c64": rps,
    "recall_p50_c64": p50,
    "recall_non2xx": non2xx,
    "clicks_per_s_target": rate,
    "clicks_acknowledged": len(acked),
    "clicks_failed": len(click_errors),
    "clicks_lost": lost,
    "health_probes": len(health_ms),
    "health_p50_ms": round(statistics.median(health_ms), 2),
    "health_p99_ms": round(p99, 2),
    "health_max_ms": round(health_ms[-1], 2),
    "health_errors": len(health_errors),
}
for k, v in figures.items():
    print(f"{k}: {v}")
if out_md:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    with open(out_md, "w") as f:
        f.write(f"# Recalls and clicks at once, {commit}\n\n")
        f.write(f"Machine: {cpu}, {os.cpu_count()} cores. One run of `scripts/load_clicks.py` on `{os.path.basename(data_dir.rstrip('/'))}`:\n")
        f.write(f"wrk keeps 64 connections of POST /api/recall (JSON, 10 random clicks, topn 500) busy for {seconds} s\n")
        f.write(f"while 8 clients post {rate} clicks/s in all (400 users) and a probe asks /api/health every 50 ms;\n")
        f.write("then every acknowledged click (201) is looked up in its user's history.\n\n")
        f.write("| figure | value |\n|---|---|\n")
        for k, v in figures.items():
            f.write(f"| {k} | {v} |\n")
ok = non2xx == 0 and not click_errors and lost == 0 and p99 < 50 and not health_errors
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
