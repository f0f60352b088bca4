#!/usr/bin/env bash
# Click volume as a benchmark dimension (issue 30): recall p50 at c=1 and throughput at c=32 on
# the sample with 0, ~1,000, ~1M and ~10M clicks in the log, measured in alternating rounds of
# one run; the CF model's build time at each volume; and `clicks import` of the 10M-line log
# (lines/s, then a re-run that must add nothing).
# Usage: bash scripts/bench_clicks.sh [USERS_LARGE]   (default 1000000 users, ~10M clicks)
# Needs a built sample data dir: $BENCH_WORK/n4960 (scripts/bench.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
LARGE_USERS=${1:-1000000}
WORK=${BENCH_WORK:-$HOME/.cache/recall-lab/bench}
BASE=$WORK/n4960
ROUNDS=${BENCH_ROUNDS:-3}
OUT=bench/out/clicks-$(date -u +%Y%m%dT%H%M%SZ); mkdir -p "$OUT"
FIG=$OUT/figures.txt; : >"$FIG"
rec() { echo "$1: $2" | tee -a "$FIG"; }
cargo build --release -p backend
BIN=$CARGO_TARGET_DIR/release/recall-lab
[ -e "$BASE/faiss.index" ] || { echo "no sample data dir at $BASE: run scripts/bench.sh 4960 first"; exit 1; }

copy() { rm -rf "$1"; mkdir -p "$1"; for f in recommend.db product_emb.npy asin_list.txt faiss.index products.rows manifest.json; do cp "$BASE/$f" "$1/"; done
  sqlite3_clear "$1"; }
sqlite3_clear() { python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]+'/recommend.db'); c.execute('DELETE FROM user_clicks'); c.execute('DELETE FROM users'); c.commit()" "$1"; }

# Volumes: name and simulated users (5 to 15 clicks each).
VOLUMES=(none:0 small:100 mid:$((LARGE_USERS / 10)) large:$LARGE_USERS)
LARGE=$WORK/clicks-large; IMPORTED=$WORK/clicks-imported
for V in "${VOLUMES[@]}"; do
  S=${V%%:*}; USERS=${V#*:}; D=$WORK/clicks-$S
  copy "$D"
  T0=$(date +%s.%N)
  if [ "$USERS" = 0 ]; then
    "$BIN" --json --data-dir "$D" cf | python3 -c "import json,sys; print(json.dumps([None, json.load(sys.stdin)]))" >"$OUT/sim-$S.json"
  else
    "$BIN" --json --data-dir "$D" simulate --users "$USERS" --min-clicks 5 --max-clicks 15 >"$OUT/sim-$S.json"
  fi
  T1=$(date +%s.%N)
  rec "$S.simulate_and_cf_s" "$(python3 -c "print(round($T1 - $T0, 1))")"
  python3 - "$OUT/sim-$S.json" "$S" <<'PY' | tee -a "$FIG"
import json, sys
sim, cf = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]}.clicks: {cf['clicks']}")
print(f"{sys.argv[2]}.users: {cf['users']}")
print(f"{sys.argv[2]}.cf_build_s: {cf['build_seconds']:.2f}")
print(f"{sys.argv[2]}.cf_pairs: {cf['pairs']}")
PY
done

# The large log as a CSV file, imported into a copy without clicks; then again.
python3 - "$LARGE/recommend.db" "$OUT/clicks.csv" <<'PY'
import csv, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["user_id", "asin", "timestamp"])
    for u, a, t in c.execute("SELECT user_id, asin, click_time FROM user_clicks"):
        w.writerow([u, a, f"{t / 1000:.3f}"])
PY
rec import.lines "$(($(wc -l <"$OUT/clicks.csv") - 1))"
copy "$IMPORTED"
"$BIN" --json --data-dir "$IMPORTED" clicks import "$OUT/clicks.csv" >"$OUT/import-1.json"
"$BIN" --json --data-dir "$IMPORTED" clicks import "$OUT/clicks.csv" >"$OUT/import-2.json"
python3 - "$OUT" <<'PY' | tee -a "$FIG"
import json, sys
for run in (1, 2):
    r = json.load(open(f"{sys.argv[1]}/import-{run}.json"))
    print(f"import.run{run}.added: {r['added']}")
    print(f"import.run{run}.already_stored: {r['already_stored']}")
    print(f"import.run{run}.rejected: {r['rejected']}")
    print(f"import.run{run}.seconds: {r['seconds']:.1f}")
    print(f"import.run{run}.lines_per_s: {r['lines_per_second']:.0f}")
PY
rm -f "$OUT/clicks.csv"

# Recall load on both, alternating: POST /api/recall with 10 random clicked items, topn 500.
shuf -n 2000 --random-source=<(yes) "$BASE/asin_list.txt" >"$OUT/asins.txt"
bash scripts/recall_lua.sh "$OUT/asins.txt" "$OUT/recall.lua"
to_ms() { python3 -c "import re,sys; v=sys.argv[1]; m=re.match(r'([0-9.]+)(us|ms|s)',v); x=float(m.group(1)); print(round(x/1000 if m.group(2)=='us' else x*1000 if m.group(2)=='s' else x,3))" "$1"; }
mkdir -p "$OUT/static"
for R in $(seq "$ROUNDS"); do
  for V in "${VOLUMES[@]}"; do
    S=${V%%:*}; D=$WORK/clicks-$S
    PORT=$((19000 + RANDOM % 500))
    RECALL_LAB_DIST_DIR="$OUT/static" "$BIN" serve --data-dir "$D" --addr "127.0.0.1:$PORT" 2>>"$OUT/serve-$S.log" &
    PID=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/health"; do sleep 0.1; done
    curl -s "http://127.0.0.1:$PORT/api/stats" >"$OUT/stats-$S.json"
    wrk -t 2 -c 32 -d 2s -s "$OUT/recall.lua" "http://127.0.0.1:$PORT" >/dev/null
    wrk -t 1 -c 1 -d 5s --latency -s "$OUT/recall.lua" "http://127.0.0.1:$PORT" >"$OUT/wrk-$S-c1-r$R.txt"
    wrk -t 2 -c 32 -d 5s --latency -s "$OUT/recall.lua" "http://127.0.0.1:$PORT" >"$OUT/wrk-$S-c32-r$R.txt"
    echo "$S round $R: c1 p50 $(awk '$1=="50%"{print $2}' "$OUT/wrk-$S-c1-r$R.txt"), c32 $(awk '/Requests\/sec/{print $2}' "$OUT/wrk-$S-c32-r$R.txt")/s"
    kill $PID; wait $PID 2>/dev/null || true
  done
done
for V in "${VOLUMES[@]}"; do
  S=${V%%:*}; P50=""; RPS=""
  for R in $(seq "$ROUNDS"); do
    P50="$P50 $(to_ms "$(awk '$1=="50%"{print $2}' "$OUT/wrk-$S-c1-r$R.txt")")"
    RPS="$RPS $(awk '/Requests\/sec/{print $2}' "$OUT/wrk-$S-c32-r$R.txt")"
    grep -q "Non-2xx" "$OUT/wrk-$S-c32-r$R.txt" && echo "non-2xx answers in $S round $R" && exit 1
  done
  rec "$S.rounds.c1_p50_ms" "${P50# }"
  rec "$S.rounds.c32_rps" "${RPS# }"
done
REPORT="bench/results/$(date -u +%Y-%m-%d)-clicks-$(git rev-parse --short HEAD).md"
python3 - "$FIG" "$(git rev-parse --short HEAD)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)" >"$REPORT" <<'PY'
import statistics, sys
fig = {}
for line in open(sys.argv[1]):
    k, v = line.split(": ", 1)
    fig[k] = v.strip()
med = lambda k: statistics.median(float(x) for x in fig[k].split())
s1, l1 = med("small.rounds.c1_p50_ms"), med("large.rounds.c1_p50_ms")
s32, l32 = med("small.rounds.c32_rps"), med("large.rounds.c32_rps")
print(f"# Click volume, {sys.argv[2]}\n")
print(f"Machine: {sys.argv[3]}, {sys.argv[4]} cores. One run of `bash scripts/bench_clicks.sh`: the sample")
print("(4,960 products) with click logs of four volumes (simulated users, 5 to 15 clicks each); POST")
print("/api/recall (JSON) with 10 random clicked items and topn 500 under wrk, the servers in")
print("alternating rounds; each figure is the median over the rounds. CF reads the precomputed")
print("item-to-item model (k 100).\n")
print("| clicks in the log | users | CF model build | simulate + CF build | recall p50, c=1 | throughput, c=32 |")
print("|---|---|---|---|---|---|")
for s in ("none", "small", "mid", "large"):
    p, r = med(s + ".rounds.c1_p50_ms"), med(s + ".rounds.c32_rps")
    print(f"| {int(fig[s + '.clicks']):,} | {int(fig[s + '.users']):,} | {float(fig[s + '.cf_build_s']):.2f} s | "
          f"{fig[s + '.simulate_and_cf_s']} s | {p:.2f} ms | {r:.0f}/s |")
print(f"\nRatio ~10M clicks / ~1,000 clicks: p50 {l1 / s1:.2f}× (target ≤ 1.2×), throughput {l32 / s32:.2f}.\n")
print(f"`recall-lab clicks import` of the large log written as CSV ({int(fig['import.lines']):,} lines, Unix-seconds")
print("timestamps) into a copy without clicks, then the same file again:\n")
print("| run | added | already stored | rejected | seconds | lines/s |")
print("|---|---|---|---|---|---|")
for run in (1, 2):
    g = lambda k: fig[f"import.run{run}.{k}"]
    print(f"| {run} | {int(g('added')):,} | {int(g('already_stored')):,} | {g('rejected')} | {g('seconds')} | {int(g('lines_per_s')):,} |")
print("\nRounds: " + "; ".join(f"{k} {fig[k]}" for k in fig if ".rounds." in k))
PY
cat "$REPORT"
if [ -n "${BENCH_FIGURES_APPEND:-}" ]; then sed 's/^/clicks./' "$FIG" >>"$BENCH_FIGURES_APPEND"; fi
