#!/usr/bin/env bash
# The embedding models side by side with the seed, in one run, on the real sample:
#   1. fidelity: sentence-transformers (fp32, the seed's model) embeds the 4,960 titles once; each
#      named model's `recall-lab embed` vectors are compared with them (cosine; top-10 neighbour
#      overlap by exact inner product over the whole sample; scripts/model_fidelity.py);
#   2. speed: the seed's embedding (seed_pipeline.embed, 2 threads) and `recall-lab embed` with
#      each named model alternate, ROUNDS times; titles/s are medians over the rounds;
#   3. every quantization candidate tried for the default, remade and measured in one harness
#      (scripts/model_candidates.py), unless CANDIDATES=0; CANDIDATE_PASSES=3 remakes only the
#      latest pass's (with the fp32 reference and the recipe it started from);
#   4. the same candidates chosen the way the default's recipe is: calibrated on the demo
#      catalog's even rows, scored against fp32 on its odd rows (model_candidates.py --held-out).
# Usage: bash scripts/bench_models.sh     Writes bench/results/<date>-models-<commit>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
cargo build --release -p backend --bins
SAMPLE=../shared/data/amazon-sample
[ -f "$SAMPLE/amazon_products.csv" ] || { echo "the benchmark needs $SAMPLE" >&2; exit 1; }
ROUNDS="${ROUNDS:-3}"
WORK="${BENCH_WORK:-$RECALL_LAB_CACHE/bench-models}"
OUT="bench/out/models-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT" "$WORK" bench/results
MODELS=(all-MiniLM-L6-v2-int8-smooth all-MiniLM-L6-v2-fp32 all-MiniLM-L6-v2-int8 all-MiniLM-L6-v2-int8-dynamic)
source scripts/seedenv.sh
ST="$FP32"
PY="$RECALL_LAB_CACHE/pyenv/bin/python"
CPU="$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
for f in avx512_vnni avx512f avx2; do grep -qw "$f" /proc/cpuinfo && { CPU="$CPU ($f)"; break; }; done

# --- the reference vectors, and a seed database to time the seed's embedding on -----------------
"$SEEDENV/bin/python" - "$SAMPLE/amazon_products.csv" "$ST" "$WORK/reference.npy" <<'PY'
import csv, sys, numpy as np
from sentence_transformers import SentenceTransformer
src, model, out = sys.argv[1:]
titles = [r["title"] for r in csv.DictReader(open(src, newline="", encoding="utf-8"))]
v = SentenceTransformer(model, device="cpu").encode(titles, batch_size=32, normalize_embeddings=True)
np.save(out, v.astype(np.float32))
PY
rm -rf "$WORK/seed"; mkdir -p "$WORK/seed"
"$SEEDENV/bin/python" - "$SAMPLE/amazon_products.csv" "$WORK/seed/recommend.db" <<'PY'
import csv, sqlite3, sys
src, db = sys.argv[1:]
c = sqlite3.connect(db)
c.execute("CREATE TABLE amazon_products (asin TEXT, title TEXT)")
c.executemany("INSERT INTO amazon_products VALUES (?, ?)",
              [(r["asin"], r["title"]) for r in csv.DictReader(open(src, newline="", encoding="utf-8"))])
c.commit()
PY
rm -rf "$WORK/base"
"$CARGO_TARGET_DIR/release/recall-lab" import --csv "$SAMPLE/amazon_products.csv" \
  --categories "$SAMPLE/amazon_categories.csv" --data-dir "$WORK/base" >/dev/null

# --- speed rounds: the seed, then each model, ROUNDS times ----------------------------------------
: >"$OUT/rounds.txt"
for r in $(seq 1 "$ROUNDS"); do
  tps=$("$SEEDENV/bin/python" - "$WORK/seed/recommend.db" "$ST" "$WORK/seed-out" <<'PY'
import os, sys
sys.path.insert(0, "../shared/bench")
import seed_pipeline
db, model, work = sys.argv[1:]
os.makedirs(work, exist_ok=True)
n, dt = seed_pipeline.embed(db, model, work, 2)
print(round(n / dt, 1))
PY
)
  echo "seed $tps" | tee -a "$OUT/rounds.txt"
  for m in "${MODELS[@]}"; do
    rm -rf "$WORK/$m"; cp -r "$WORK/base" "$WORK/$m"
    tps=$("$CARGO_TARGET_DIR/release/recall-lab" --json embed --model "$m" --data-dir "$WORK/$m" \
      | python3 -c "import json,sys;print(round(json.load(sys.stdin)['titles_per_second'],1))")
    echo "$m $tps" | tee -a "$OUT/rounds.txt"
  done
done

# --- fidelity of each model's vectors (the last round's) ----------------------------------------
: >"$OUT/fidelity.jsonl"
for m in "${MODELS[@]}"; do
  "$PY" scripts/model_fidelity.py "$SAMPLE/amazon_products.csv" "$WORK/reference.npy" "$WORK/$m" "$m" \
    | tee -a "$OUT/fidelity.jsonl"
done

# --- every candidate tried, in one harness -------------------------------------------------------
if [ "${CANDIDATES:-1}" != 0 ]; then
  rm -f "$OUT/candidates.jsonl"
  PREVIOUS_MODEL="$RECALL_LAB_CACHE/models/all-MiniLM-L6-v2-int8-dynamic/model.onnx" \
  "$PY" scripts/model_candidates.py "$RECALL_LAB_CACHE/models/all-MiniLM-L6-v2-int8/model.onnx" \
    "$ST/model.safetensors" "$ST/tokenizer.json" backend/demo/amazon_products.csv \
    "$SAMPLE/amazon_products.csv" "$WORK/reference.npy" "$OUT/candidates.jsonl" 2>"$OUT/candidates.log"
  rm -f "$OUT/held_out.jsonl"
  "$PY" scripts/model_candidates.py --held-out "$RECALL_LAB_CACHE/models/all-MiniLM-L6-v2-int8/model.onnx" \
    "$ST/model.safetensors" "$ST/tokenizer.json" backend/demo/amazon_products.csv \
    "$OUT/held_out.jsonl" 2>"$OUT/held_out.log"
fi

COMMIT=$(git rev-parse --short HEAD)
RESULT="bench/results/$(date -u +%Y-%m-%d)-models-$COMMIT.md"
python3 scripts/bench_models_report.py "$OUT" "$CPU" "$COMMIT" "$ROUNDS" >"$RESULT"
echo "wrote $RESULT" >&2
cat "$RESULT"
