#!/usr/bin/env bash
# Embedding throughput on the real sample titles for a grid of batch sizes and of model sessions
# x ONNX Runtime threads per session, so that the defaults of `recall-lab embed` are measured,
# not guessed. Each setting runs twice, interleaved with the others (the machine is noisy).
# Usage: bash scripts/embed_sweep.sh [BATCH_SIZES] [WORKERSxTHREADS]   (default: "2 4 8 16" "1x2 2x1")
# Writes bench/results/<date>-embed-sweep.md (with the commit it was taken at).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
cargo build --release -p backend --bins
SAMPLE=../shared/data/amazon-sample
read -r -a BATCHES <<<"${1:-2 4 8 16}"
read -r -a SETTINGS <<<"${2:-1x2 2x1}"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
"$BIN" import --csv "$SAMPLE/amazon_products.csv" --categories "$SAMPLE/amazon_categories.csv" --data-dir "$WORK/base" >/dev/null
OUTF="bench/results/$(date -u +%Y-%m-%d)-embed-sweep.md"
{
  echo "# Embedding sweep, $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD))"
  echo
  echo "\`bash scripts/embed_sweep.sh\` on $(nproc) cores: \`recall-lab embed\` of the 4,960 sample titles (sorted by"
  echo "length, default model), from scratch for each setting; titles per second, two rounds."
  echo
  echo "| batch size | sessions x threads | round 1 | round 2 |"
  echo "|---|---|---|---|"
  declare -A TPS
  for round in 1 2; do
    for b in "${BATCHES[@]}"; do
      for st in "${SETTINGS[@]}"; do
        rm -rf "$WORK/run"; cp -r "$WORK/base" "$WORK/run"
        TPS[$b,$st,$round]=$("$BIN" --json embed --data-dir "$WORK/run" --batch-size "$b" \
          --workers "${st%x*}" --threads "${st#*x}" 2>/dev/null \
          | python3 -c "import json,sys;print(round(json.load(sys.stdin)['titles_per_second'],1))")
      done
    done
  done
  for b in "${BATCHES[@]}"; do
    for st in "${SETTINGS[@]}"; do echo "| $b | $st | ${TPS[$b,$st,1]} | ${TPS[$b,$st,2]} |"; done
  done
} | tee "$OUTF"
