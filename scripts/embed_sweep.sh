#!/usr/bin/env bash
# Embedding throughput on the real sample titles for a grid of batch sizes and ONNX Runtime
# thread counts, so that the defaults of `recall-lab embed` are measured, not guessed.
# Usage: bash scripts/embed_sweep.sh [BATCH_SIZES] [THREADS]   (default: "4 8 16 32" "1 2")
# Writes bench/results/<date>-embed-sweep.md (with the commit it was taken at).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
cargo build --release -p backend --bins
SAMPLE=../shared/data/amazon-sample
read -r -a BATCHES <<<"${1:-4 8 16 32}"
read -r -a THREADS <<<"${2:-1 2}"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
"$BIN" import --csv "$SAMPLE/amazon_products.csv" --categories "$SAMPLE/amazon_categories.csv" --data-dir "$WORK/base" >/dev/null
OUTF="bench/results/$(date -u +%Y-%m-%d)-embed-sweep.md"
{
  echo "# Embedding sweep, $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD))"
  echo
  echo "\`bash scripts/embed_sweep.sh\` on $(nproc) cores: \`recall-lab embed\` of the 4,960 sample titles (sorted by"
  echo "length, int8 model), from scratch for each setting; titles per second."
  echo
  echo "| batch size | threads | titles/s |"
  echo "|---|---|---|"
  for b in "${BATCHES[@]}"; do
    for t in "${THREADS[@]}"; do
      rm -rf "$WORK/run"; cp -r "$WORK/base" "$WORK/run"
      tps=$("$BIN" --json embed --data-dir "$WORK/run" --batch-size "$b" --threads "$t" 2>/dev/null \
        | python3 -c "import json,sys;print(round(json.load(sys.stdin)['titles_per_second'],1))")
      echo "| $b | $t | $tps |"
    done
  done
} | tee "$OUTF"
