#!/usr/bin/env bash
# FAISS and Milvus side by side, in one run (the scale-out issue's figures). For each size N
# (default 4,960 = the real sample, and 100,000 = the sample plus synthetic items from
# `recall-bench data`), one build's vectors are indexed by each engine (FAISS in the data dir;
# a collection on a standalone Milvus 2.3.5 this script starts on free local ports), then, in
# ROUNDS rounds alternating the engines:
#   - the engine's own search of recall-shaped batches (10 clicked items, k 510, the server's
#     nprobe): `recall-bench search`, FAISS in process, Milvus over gRPC (its search time);
#   - HTTP recall (POST /api/recall, 10 random clicks of 2,000, topn 500; wrk) at c=1 (p50) and
#     c=32 (p50, requests/s), against `recall-lab serve` on each data dir.
# Figures are medians over the rounds; build times, default nprobe, recall@10 and the servers'
# memory are recorded once per size.
# Usage: bash scripts/bench_milvus.sh [SIZES...]     Writes bench/results/<date>-milvus-<commit>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
cargo build --release -p backend --bins
SIZES=("${@:-4960 100000}")
read -r -a SIZES <<<"${SIZES[*]}"
SAMPLE=../shared/data/amazon-sample
[ -f "$SAMPLE/amazon_products.csv" ] || { echo "the benchmark needs $SAMPLE" >&2; exit 1; }
BENCH="$CARGO_TARGET_DIR/release/recall-bench"
WORK="${BENCH_WORK:-$RECALL_LAB_CACHE/bench-milvus}"
OUT="bench/out/milvus-$(date -u +%Y%m%dT%H%M%SZ)"
ROUNDS="${BENCH_ROUNDS:-3}"
SEGMENT="${BENCH_SEGMENT_SECONDS:-5}"
mkdir -p "$OUT" "$WORK" bench/results
FIG="$OUT/figures.txt"
: >"$FIG"
rec() { echo "$1: $2" | tee -a "$FIG"; }
rec machine.cpu "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo) ($(nproc) cores)"
to_ms() { python3 -c "v='$1'; u={'us':1e-3,'ms':1,'s':1e3}; n=v.rstrip('usm'); print(round(float(n)*u[v[len(n):]],3))"; }

# --- a fresh Milvus server for this run ---------------------------------------------------------
MDIR="$WORK/milvus-server"; rm -rf "$MDIR"; mkdir -p "$MDIR"
"$RECALL_LAB_CACHE/milvusenv/bin/python" scripts/milvus_server.py --base-dir "$MDIR" \
  --ready-file "$MDIR/ready" --exit-with-parent >"$MDIR/launcher.log" 2>&1 &
LAUNCHER=$!
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; kill -TERM "$LAUNCHER" 2>/dev/null || true; wait "$LAUNCHER" 2>/dev/null || true; }
trap cleanup EXIT
until [ -s "$MDIR/ready" ]; do
  kill -0 "$LAUNCHER" 2>/dev/null || { cat "$MDIR/launcher.log" >&2; echo "Milvus did not start" >&2; exit 1; }
  sleep 0.2
done
MPORT=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$MDIR/ready")
MPID=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$MDIR/ready")
URI="http://127.0.0.1:$MPORT"
rec milvus.version "2.3.5 standalone (PyPI milvus), started in $(sed -n 's/.*secs=\([0-9.]*\).*/\1/p' "$MDIR/ready") s"
rec milvus.idle_rss_mb "$(awk '/VmRSS/{print int($2/1024)}' /proc/$MPID/status)"

mrss() { awk '/VmRSS/{print int($2/1024)}' "/proc/$MPID/status"; }
serve() { # DATA_DIR PORT LOG -> pid in SERVED
  "$BIN" serve --data-dir "$1" --addr "127.0.0.1:$2" 2>"$3" &
  SERVED=$!; PIDS+=("$SERVED")
  until curl -sf -o /dev/null "http://127.0.0.1:$2/api/health"; do sleep 0.05; done
}

for N in "${SIZES[@]}"; do
  F="$WORK/faiss-n$N"; M="$WORK/milvus-n$N"
  if [ "$N" = 4960 ]; then
    rm -rf "$F"
    "$BIN" --json build --csv "$SAMPLE/amazon_products.csv" --categories "$SAMPLE/amazon_categories.csv" \
      --data-dir "$F" --no-map >"$OUT/build-faiss-$N.json"
    python3 -c "import json;print(json.dumps(json.load(open('$OUT/build-faiss-$N.json'))['index']))" >"$OUT/index-faiss-$N.json"
  else
    [ -d "$WORK/faiss-n4960" ] || { echo "size $N is made from the sample's build: include 4960 first" >&2; exit 1; }
    rm -rf "$F"; "$BENCH" data --from "$WORK/faiss-n4960" --size "$N" --out "$F" >"$OUT/data-$N.txt"
    "$BIN" --json index --data-dir "$F" >"$OUT/index-faiss-$N.json"
  fi
  # The same vectors, rows and catalog, indexed on Milvus.
  rm -rf "$M"; cp -r "$F" "$M"; rm -f "$M/faiss.index"
  RSS0=$(mrss)
  "$BIN" --json index --data-dir "$M" --engine milvus --milvus-uri "$URI" --collection "bench_n$N" \
    >"$OUT/index-milvus-$N.json"
  rec "n$N.milvus.server_rss_growth_mb" "$(( $(mrss) - RSS0 ))"
  for E in faiss milvus; do
    read -r S NP R10 NL <<<"$(python3 -c "import json;r=json.load(open('$OUT/index-$E-$N.json'));print(round(r['seconds'],2), r['default_nprobe'], round(r['recall_at_10'],3), r['nlist'])")"
    rec "n$N.$E.index_build_s" "$S"
    rec "n$N.$E.nlist" "$NL"
    rec "n$N.$E.default_nprobe" "$NP"
    rec "n$N.$E.recall_at_10_default_nprobe" "$R10"
  done
  rec "n$N.milvus.server_rss_after_build_mb" "$(awk '/VmRSS/{print int($2/1024)}' /proc/$MPID/status)"

  shuf -n 2000 --random-source=<(yes) "$F/asin_list.txt" >"$OUT/asins-$N.txt"
  bash scripts/recall_lua.sh "$OUT/asins-$N.txt" "$OUT/recall-$N.lua"
  FPORT=18$((RANDOM % 450 + 100)); MPORT_HTTP=18$((RANDOM % 450 + 550))
  serve "$F" "$FPORT" "$OUT/serve-faiss-$N.log"; FS=$SERVED
  serve "$M" "$MPORT_HTTP" "$OUT/serve-milvus-$N.log"; MS=$SERVED
  body="{\"clicks\":[$(head -n10 "$OUT/asins-$N.txt" | sed 's/.*/"&"/' | paste -sd,)],\"params\":{\"topn\":500}}"
  NPROBE=$(curl -s -X POST -H 'content-type: application/json' -d "$body" "http://127.0.0.1:$FPORT/api/recall" \
    | python3 -c "import json,sys;print(json.load(sys.stdin)['params']['nprobe'])")
  rec "n$N.request_nprobe" "$NPROBE"
  # Untimed warm-up of both servers.
  for P in "$FPORT" "$MPORT_HTTP"; do wrk -t 2 -c 32 -d 3s -s "$OUT/recall-$N.lua" "http://127.0.0.1:$P" >/dev/null; done
  for r in $(seq "$ROUNDS"); do
    for E in faiss milvus; do
      if [ $E = faiss ]; then D="$F"; P=$FPORT; else D="$M"; P=$MPORT_HTTP; fi
      "$BENCH" search --data-dir "$D" --clicks 10 --clicks-from "$OUT/asins-$N.txt" --k 510 \
        --nprobe "$NPROBE" --concurrency 32 --seconds "$((SEGMENT * 2))" --unordered >"$OUT/bare-$E-$N-r$r.txt"
      for C in 1 32; do
        wrk -t "$([ $C = 1 ] && echo 1 || echo 2)" -c "$C" -d "${SEGMENT}s" --latency -s "$OUT/recall-$N.lua" \
          "http://127.0.0.1:$P" >"$OUT/wrk-$E-$N-c$C-r$r.txt"
      done
    done
  done
  python3 - "$OUT" "$N" "$ROUNDS" <<'PY' | tee -a "$FIG"
import re, statistics, sys
out, n, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
for e in ("faiss", "milvus"):
    got = {}
    for r in range(1, rounds + 1):
        for line in open(f"{out}/bare-{e}-{n}-r{r}.txt"):
            k, v = line.split(": ")
            if k.startswith(e + ".c") and v.strip() != "-":
                got.setdefault("search_" + k[len(e) + 1:], []).append(float(v))
        for c in (1, 32):
            text = open(f"{out}/wrk-{e}-{n}-c{c}-r{r}.txt").read()
            got.setdefault(f"http_c{c}_p50_ms", []).append(ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)))
            got.setdefault(f"http_c{c}_rps", []).append(float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)))
            bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
            got.setdefault(f"http_c{c}_non_2xx", []).append(int(bad.group(1)) if bad else 0)
    for k, v in got.items():
        agg = sum(v) if k.endswith("non_2xx") else round(statistics.median(v), 3)
        print(f"n{n}.{e}.{k}: {agg}")
        if not k.endswith("non_2xx"):
            print(f"rounds.n{n}.{e}.{k}: {' / '.join(str(round(x, 3)) for x in v)}")
PY
  rec "n$N.faiss.server_rss_mb" "$(awk '/VmRSS/{print int($2/1024)}' /proc/$FS/status)"
  rec "n$N.milvus.recall_lab_server_rss_mb" "$(awk '/VmRSS/{print int($2/1024)}' /proc/$MS/status)"
  rec "n$N.milvus.server_rss_under_load_mb" "$(awk '/VmRSS/{print int($2/1024)}' /proc/$MPID/status)"
  rec "n$N.raw_vectors_mb" "$(python3 -c "print(round($N * 384 * 4 / 1048576, 1))")"
  kill "$FS" "$MS"; wait "$FS" "$MS" 2>/dev/null || true
  # The compressed indexes, for the capacity table: build time, recall@10 at the calibrated
  # nprobe, and how much the Milvus server grew with the collection loaded.
  for T in ivf_sq8 ivf_pq; do
    C="$WORK/milvus-$T-n$N"; rm -rf "$C"; cp -r "$F" "$C"; rm -f "$C/faiss.index"
    RSS0=$(mrss)
    "$BIN" --json index --data-dir "$C" --engine milvus --milvus-uri "$URI" --collection "bench_${T}_n$N" \
      --milvus-index "${T//_/-}" >"$OUT/index-$T-$N.json"
    rec "n$N.$T.server_rss_growth_mb" "$(( $(mrss) - RSS0 ))"
    read -r S NP R10 <<<"$(python3 -c "import json;r=json.load(open('$OUT/index-$T-$N.json'));print(round(r['seconds'],2), r['default_nprobe'], round(r['recall_at_10'],3))")"
    rec "n$N.$T.index_build_s" "$S"
    rec "n$N.$T.default_nprobe" "$NP"
    rec "n$N.$T.recall_at_10_default_nprobe" "$R10"
  done
done
du -sm "$MDIR/data" | awk '{print "milvus.data_dir_mb: " $1}' | tee -a "$FIG"

COMMIT=$(git rev-parse --short HEAD)
RESULT="bench/results/$(date -u +%Y-%m-%d)-milvus-$COMMIT.md"
python3 scripts/bench_milvus_report.py "$FIG" "$COMMIT" "$ROUNDS" "$SEGMENT" >"$RESULT"
echo "wrote $RESULT" >&2
cat "$RESULT"
