#!/usr/bin/env bash
# Benchmarks, side by side with the seed article's Python pipeline, in one run:
#   embedding throughput (real titles), index build, serve-to-first-answer, HTTP recall latency
#   at concurrency 1 and 32 and throughput (wrk; JSON answers, and the bincode answers the app
#   asks for), server RSS, bare in-process FAISS search of
#   the same batches; at N = 4,960 (the real sample), 100,000 and 1,000,000 (the sample plus
#   synthetic items whose vectors follow a generator fitted to the sample's neighbourhood
#   structure: `recall-bench data`); the neighbourhood statistics of each size side by side; the
#   in-process parts with criterion (`cargo bench --bench engine`) over the same data dirs; then
#   the click-volume rows (scripts/bench_clicks.sh) and the 1M end-to-end build
#   (scripts/bench_build.sh), unless BENCH_EXTRAS leaves them out (default "clicks build").
# Usage: bash scripts/bench.sh [SIZES...]      (default: 4960 100000 1000000)
# Writes raw figures to $OUT and the table to bench/results/<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
cargo build --release -p backend --bins
SIZES=("${@:-4960 100000 1000000}")
read -r -a SIZES <<<"${SIZES[*]}"
SAMPLE=../shared/data/amazon-sample
[ -f "$SAMPLE/amazon_products.csv" ] || { echo "the benchmark needs $SAMPLE" >&2; exit 1; }
BENCH="$CARGO_TARGET_DIR/release/recall-bench"
WORK="${BENCH_WORK:-$RECALL_LAB_CACHE/bench}"
OUT="bench/out/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT" bench/results
FIG="$OUT/figures.txt"
: >"$FIG"
rec() { echo "$1: $2" | tee -a "$FIG"; }
# The verdicts depend on the CPU: the same 2-core VM size came with different ones.
rec machine.cpu "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo) ($(grep -m1 -o -w -E 'avx512f|avx2' /proc/cpuinfo | sort -u | tail -1 | tr -d '\n'))"
to_ms() { python3 -c "v='$1'; u={'us':1e-3,'ms':1,'s':1e3}; n=v.rstrip('usm'); print(round(float(n)*u[v[len(n):]],3))"; }
DURATION="${BENCH_SECONDS:-10}"
# HTTP loads and bare FAISS alternate in rounds of short segments (see the load loop).
ROUNDS="${BENCH_ROUNDS:-3}"
SEGMENT="${BENCH_SEGMENT_SECONDS:-4}"
# The seed's embedding and ours alternate this many times (each about a minute in all).
EMBED_ROUNDS="${BENCH_EMBED_ROUNDS:-3}"

# --- the seed's environment (sentence-transformers + faiss-cpu), made once ----------------------
source scripts/seedenv.sh

# --- seed pipeline on the real sample (nlist 256, nprobe 16, as the issue asks) ----------------
rm -rf "$WORK/seed"; mkdir -p "$WORK/seed"
"$SEEDENV/bin/python" ../shared/bench/seed_pipeline.py --csv "$SAMPLE/amazon_products.csv" --model "$FP32" \
  --work "$WORK/seed" --nlist 256 --nprobe 16 --users 50 --clicks 10 --topn 500 | tee "$OUT/seed.txt"
# (its embedding figure is recorded below, as the median of the embedding rounds)
grep -v '^seed.embed_titles_per_s' "$OUT/seed.txt" | sed 's/^/  /' >>"$FIG"

# --- ours: build the sample (import + embed + index) -------------------------------------------
S="$WORK/n4960"; rm -rf "$S"
"$BIN" --json build --csv "$SAMPLE/amazon_products.csv" --categories "$SAMPLE/amazon_categories.csv" --data-dir "$S" >"$OUT/build-4960.json"
# Embedding rounds: the seed's embedding and ours alternate, EMBED_ROUNDS in all (the first
# round is the two pipelines above); the titles/s figures are medians over the rounds.
SEED_TPS=("$(awk -F': ' '/^seed.embed_titles_per_s/{print $2}' "$OUT/seed.txt")")
OURS_TPS=("$(python3 -c "import json;print(round(json.load(open('$OUT/build-4960.json'))['embed']['titles_per_second'],1))")")
rm -rf "$WORK/embed-base"
"$BIN" import --csv "$SAMPLE/amazon_products.csv" --categories "$SAMPLE/amazon_categories.csv" --data-dir "$WORK/embed-base" >/dev/null
for r in $(seq 2 "$EMBED_ROUNDS"); do
  SEED_TPS+=("$("$SEEDENV/bin/python" - "$WORK/seed/recommend.db" "$FP32" "$WORK/embed-seed" <<'PY'
import os, sys
sys.path.insert(0, "../shared/bench")
import seed_pipeline
db, model, work = sys.argv[1:]
os.makedirs(work, exist_ok=True)
n, dt = seed_pipeline.embed(db, model, work, 2)
print(round(n / dt, 1))
PY
)")
  rm -rf "$WORK/embed-ours"; cp -r "$WORK/embed-base" "$WORK/embed-ours"
  OURS_TPS+=("$("$BIN" --json embed --data-dir "$WORK/embed-ours" \
    | python3 -c "import json,sys;print(round(json.load(sys.stdin)['titles_per_second'],1))")")
done
median() { python3 -c "import statistics,sys;print(statistics.median(map(float,sys.argv[1:])))" "$@"; }
rec seed.embed_titles_per_s "$(median "${SEED_TPS[@]}")"
rec ours.embed_titles_per_s "$(median "${OURS_TPS[@]}")"
rec rounds.seed.embed_titles_per_s "${SEED_TPS[*]}"
rec rounds.ours.embed_titles_per_s "${OURS_TPS[*]}"
# What the machine allows: the model's matrix products alone, fp32 and int8 (scripts/embed_ceiling.py).
"$RECALL_LAB_CACHE/pyenv/bin/python" scripts/embed_ceiling.py 2>/dev/null >"$OUT/embed-ceiling.json"
rec ceiling.fp32_titles_per_s "$(python3 -c "import json;print(json.load(open('$OUT/embed-ceiling.json'))['fp32']['titles_per_second_bound'])")"
rec ceiling.int8_titles_per_s "$(python3 -c "import json;print(json.load(open('$OUT/embed-ceiling.json'))['int8']['titles_per_second_bound'])")"
# Where the model's time goes (ONNX Runtime's profiler, one thread; scripts/embed_profile.py).
"$RECALL_LAB_CACHE/pyenv/bin/python" scripts/embed_profile.py "$RECALL_LAB_CACHE/models/all-MiniLM-L6-v2-int8-smooth" \
  "$SAMPLE/amazon_products.csv" >"$OUT/embed-profile.json"
rec profile.matmul_share "$(python3 -c "import json;print(json.load(open('$OUT/embed-profile.json'))['matmul_share'])")"

wait_up() { # url -> seconds until the first 200
  local t0 t1; t0=$(date +%s.%N)
  until curl -sf -o /dev/null "$1"; do sleep 0.02; done
  t1=$(date +%s.%N); python3 -c "print(round($t1-$t0,3))"
}

for N in "${SIZES[@]}"; do
  D="$WORK/n$N"
  if [ "$N" != 4960 ]; then
    # Made afresh each run (seconds at 100k, minutes at 1M), so no older generator's catalog
    # is ever measured.
    rm -rf "$D"; "$BENCH" data --from "$S" --size "$N" --out "$D" >"$OUT/data-$N.txt"
    grep -E '^bench\.data_(generator|noise_scale|fit_)' "$OUT/data-$N.txt" | sed "s/^bench\./n$N./" | tee -a "$FIG"
    "$BIN" --json index --data-dir "$D" >"$OUT/index-$N.json"
  else
    python3 -c "import json;print(json.dumps(json.load(open('$OUT/build-4960.json'))['index']))" >"$OUT/index-$N.json"
  fi
  read -r IDX_S TRAIN_S ADD_S NLIST R10 NP0 <<<"$(python3 -c "import json;r=json.load(open('$OUT/index-$N.json'));print(round(r['seconds'],2), round(r['train_seconds'],2), round(r['add_seconds'],2), r['nlist'], round(r['recall_at_10'],3), r['default_nprobe'])")"
  rec "n$N.ours.nlist" "$NLIST"
  rec "n$N.ours.default_nprobe" "$NP0"
  rec "n$N.ours.recall_at_10_default_nprobe" "$R10"
  # Neighbourhood structure (nearest / 10th-nearest cosine, recall@10 per nprobe), to compare a
  # synthetic catalog with the real sample (bench/results/2026-12-05-neighbours.md).
  "$BENCH" neighbours --data-dir "$WORK/n$N" --samples 500 2>/dev/null | sed "s/^/n$N./" | tee -a "$FIG"
  rec "n$N.ours.index_build_s" "$IDX_S"
  rec "n$N.ours.index_train_add_s" "$(python3 -c "print(round($TRAIN_S+$ADD_S,2))")"
  # faiss-cpu, same vectors and parameters (IVF nlist, train on at most 256*nlist, add all).
  rec "n$N.faisscpu.index_train_add_s" "$("$SEEDENV/bin/python" - "$D" "$NLIST" <<'PY'
import sys, time, numpy as np, faiss
d, nlist = sys.argv[1], int(sys.argv[2])
faiss.omp_set_num_threads(2)
e = np.load(f"{d}/product_emb.npy")
rng = np.random.default_rng(42)
train = e[np.sort(rng.choice(len(e), min(len(e), 256 * nlist), replace=False))]
t = time.perf_counter()
idx = faiss.index_factory(e.shape[1], f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
idx.train(train); idx.add(e)
print(round(time.perf_counter() - t, 2))
PY
)"
  # A load of random 10-click recalls (POST /api/recall), the same shape for every size.
  shuf -n 2000 --random-source=<(yes) "$D/asin_list.txt" >"$OUT/asins-$N.txt"
  bash scripts/recall_lua.sh "$OUT/asins-$N.txt" "$OUT/recall-$N.lua"
  # The same load asking for the binary answer the browser app uses.
  sed 's|^wrk.headers\["Content-Type"\].*|&\nwrk.headers["Accept"] = "application/vnd.recall-lab.v2+bincode"|' \
    "$OUT/recall-$N.lua" >"$OUT/recall-bin-$N.lua"
  PORT=18$((RANDOM % 900 + 100))
  STATIC="$OUT/static-$N"; mkdir -p "$STATIC"
  t0=$(date +%s.%N)
  RECALL_LAB_DIST_DIR="$STATIC" "$BIN" serve --data-dir "$D" --addr "127.0.0.1:$PORT" 2>"$OUT/serve-$N.log" &
  PID=$!
  until curl -sf -o /dev/null -X POST -H 'content-type: application/json' \
      -d "{\"clicks\":[\"$(head -n1 "$OUT/asins-$N.txt")\"],\"params\":{\"topn\":500}}" "http://127.0.0.1:$PORT/api/recall"; do sleep 0.02; done
  t1=$(date +%s.%N)
  rec "n$N.ours.serve_to_first_answer_s" "$(python3 -c "print(round($t1-$t0,3))")"
  NPROBE=$(curl -s -X POST -H 'content-type: application/json' -d "{\"clicks\":[$(head -n10 "$OUT/asins-$N.txt" | sed 's/.*/"&"/' | paste -sd,)],\"params\":{\"topn\":500}}" "http://127.0.0.1:$PORT/api/recall" | python3 -c "import json,sys;r=json.load(sys.stdin);print(r['params']['nprobe'], len(r['items']), file=sys.stderr);print(r['params']['nprobe'])")
  # Rounds: bare FAISS in-process (the server idle), then JSON answers (figures `ours.http_*`)
  # and bincode answers (`ours.bin.http_*`) at c=1 and c=32, each load a short segment; every
  # figure is the median over the rounds. This machine's speed drifts by up to ~30% within
  # minutes, so a reference and its figure are measured seconds apart, not a minute apart.
  # Untimed warm-up: the server's first requests after its start are slower (thread pools,
  # caches, the background prefault still running at 1M).
  wrk -t 2 -c 32 -d 3s -s "$OUT/recall-bin-$N.lua" "http://127.0.0.1:$PORT" >/dev/null
  for r in $(seq "$ROUNDS"); do
    # Its batches draw their 10 clicks from the same 2,000 asins as the HTTP load's requests.
    "$BENCH" search --data-dir "$D" --clicks 10 --clicks-from "$OUT/asins-$N.txt" --k 510 \
      --nprobe "$NPROBE" --concurrency 32 --seconds "$((SEGMENT * 2))" >"$OUT/bare-$N-r$r.txt"
    # The same searches as the engine's content channel calls them (its own result heaps, left
    # unsorted): not the targets' reference, shown beside it.
    "$BENCH" search --data-dir "$D" --clicks 10 --clicks-from "$OUT/asins-$N.txt" --k 510 \
      --nprobe "$NPROBE" --concurrency 32 --seconds "$((SEGMENT * 2))" --unordered >"$OUT/bare-any-$N-r$r.txt"
    for C in 1 32; do
      for FMT in json bin; do
        if [ $FMT = json ]; then LUA="$OUT/recall-$N.lua"; else LUA="$OUT/recall-bin-$N.lua"; fi
        wrk -t "$([ $C = 1 ] && echo 1 || echo 2)" -c "$C" -d "${SEGMENT}s" --latency -s "$LUA" \
          "http://127.0.0.1:$PORT" >"$OUT/wrk-$N-$FMT-c$C-r$r.txt"
      done
    done
  done
  python3 scripts/bench_rounds.py "$OUT" "$N" "$ROUNDS" | sed "s/^/n$N./" | tee -a "$FIG"
  rec "n$N.ours.server_rss_mb" "$(awk '/VmRSS/{print int($2/1024)}' /proc/$PID/status)"
  rec "n$N.ours.server_rss_anon_mb" "$(awk '/RssAnon/{print int($2/1024)}' /proc/$PID/status)"
  rec "n$N.ours.server_rss_file_mb" "$(awk '/RssFile/{print int($2/1024)}' /proc/$PID/status)"
  # Where a request's time goes: the server's own per-request timings under wrk's back-to-back
  # c=1 loads, JSON then bincode. (A client that parses each answer before sending the next
  # idles for milliseconds, and a search after a long idle is slower, so its timings overstate
  # what the loads above see.) They come from a second start of the same server that logs them
  # (a debug event per recall), so the loads above ran without that logging.
  kill $PID; wait $PID 2>/dev/null || true
  PORT=18$((RANDOM % 900 + 100))
  TLOG="$OUT/serve-timed-$N.log"
  RUST_LOG=info,recall_lab::recall=debug NO_COLOR=1 RECALL_LAB_DIST_DIR="$STATIC" "$BIN" serve --data-dir "$D" \
    --addr "127.0.0.1:$PORT" 2>"$TLOG" &
  PID=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/health"; do sleep 0.02; done
  wrk -t 2 -c 32 -d 3s -s "$OUT/recall-bin-$N.lua" "http://127.0.0.1:$PORT" >/dev/null
  for FMT in json bin; do
    if [ $FMT = json ]; then LUA="$OUT/recall-$N.lua"; P="ours."; else LUA="$OUT/recall-bin-$N.lua"; P="ours.bin."; fi
    from=$(($(wc -l <"$TLOG") + 1))
    W="$OUT/wrk-timed-$N-$FMT.txt"
    wrk -t 1 -c 1 -d "$((SEGMENT * 2))s" --latency -s "$LUA" "http://127.0.0.1:$PORT" >"$W"
    tail -n "+$from" "$TLOG" >"$OUT/timings-$N-$FMT.log"
    python3 scripts/bench_timings.py "$OUT/timings-$N-$FMT.log" "$P" | sed "s/^/n$N./" | tee -a "$FIG"
    rec "n$N.${P}timed_http_c1_p50_ms" "$(to_ms "$(awk '$1=="50%"{print $2}' "$W")")"
  done
  curl -s -X POST -H 'content-type: application/json' \
    -d "{\"clicks\":[$(head -n10 "$OUT/asins-$N.txt" | sed 's/.*/"&"/' | paste -sd,)],\"params\":{\"topn\":500}}" \
    "http://127.0.0.1:$PORT/api/recall" >"$STATIC/body.json"
  rec "n$N.ours.response_kb" "$(( $(stat -c %s "$STATIC/body.json") / 1024 ))"
  curl -s -X POST -H 'content-type: application/json' -H 'accept: application/vnd.recall-lab.v2+bincode' \
    -d "{\"clicks\":[$(head -n10 "$OUT/asins-$N.txt" | sed 's/.*/"&"/' | paste -sd,)],\"params\":{\"topn\":500}}" \
    "http://127.0.0.1:$PORT/api/recall" >"$STATIC/body.bin"
  rec "n$N.ours.bin.response_kb" "$(( $(stat -c %s "$STATIC/body.bin") / 1024 ))"
  for C in 1 32; do
    for FMT in json bin; do
      if [ $FMT = json ]; then K="http_floor"; else K="bin.http_floor"; fi
      W="$OUT/wrk-static-$N-$FMT-c$C.txt"
      wrk -t "$([ $C = 1 ] && echo 1 || echo 2)" -c "$C" -d "$((DURATION / 2 + 1))s" --latency "http://127.0.0.1:$PORT/body.$FMT" >"$W"
      rec "n$N.${K}_c${C}_p50_ms" "$(to_ms "$(awk '$1=="50%"{print $2}' "$W")")"
      rec "n$N.${K}_c${C}_rps" "$(awk '/Requests\/sec/{print $2}' "$W")"
    done
  done
  rec "n$N.raw_vectors_mb" "$((N * 384 * 4 / 1048576))"
  kill $PID; wait $PID 2>/dev/null || true
done

# --- in-process parts (criterion, no HTTP): bare search, enrichment, Engine::recall ------------
DIRS=""; for N in "${SIZES[@]}"; do DIRS="$DIRS$WORK/n$N:"; done
rm -rf "$CARGO_TARGET_DIR/criterion"
RECALL_LAB_BENCH_DIRS="$DIRS" cargo bench -p backend --bench engine -- --warm-up-time 1 --measurement-time 5 \
  >"$OUT/criterion.txt" 2>&1
python3 - "$CARGO_TARGET_DIR/criterion" <<'PY' | tee -a "$FIG"
import json, pathlib, sys
for est in sorted(pathlib.Path(sys.argv[1]).glob("n*/*/*/new/estimates.json")):
    group, fn, param = est.parts[-5:-2]
    print(f"{group}.criterion.{fn}.{param}_ms: {json.load(open(est))['median']['point_estimate'] / 1e6:.3f}")
PY

# --- click volume and the end-to-end build (their own scripts; their figures merged here) -----
for X in ${BENCH_EXTRAS-clicks build}; do
  BENCH_WORK="$WORK" BENCH_FIGURES_APPEND="$FIG" bash "scripts/bench_$X.sh"
done

# A second run on the same day keeps the first's results: its file is named with its commit too.
REPORT="bench/results/$(date -u +%Y-%m-%d).md"
[ -e "$REPORT" ] && REPORT="bench/results/$(date -u +%Y-%m-%d)-$(git rev-parse --short HEAD).md"
python3 scripts/bench_report.py "$FIG" "$(git rev-parse --short HEAD)" >"$REPORT"
cat "$REPORT"
