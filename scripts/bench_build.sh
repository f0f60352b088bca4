#!/usr/bin/env bash
# End-to-end build at scale (issue 30): a demo-generator catalog of N products (default 1M)
# through every stage a team runs: product import, embedding with the real model, index build,
# a simulated click log, the CF model. Each stage's wall time and peak RSS (/usr/bin/time).
# Usage: bash scripts/bench_build.sh [N] [USERS]   (default 1000000 products, 100000 users)
# With BENCH_FIGURES_APPEND=FILE its figures are also appended there (bench.sh's report).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
N=${1:-1000000}; USERS=${2:-100000}
WORK=${BENCH_WORK:-$RECALL_LAB_CACHE/bench}/build-$N
OUT=bench/out/build-$(date -u +%Y%m%dT%H%M%SZ); mkdir -p "$OUT"
FIG=$OUT/figures.txt; : >"$FIG"
rec() { echo "$1: $2" | tee -a "$FIG"; }
cargo build --release -p backend --bins
BIN=$CARGO_TARGET_DIR/release/recall-lab
rm -rf "$WORK"; mkdir -p "$WORK"
rec build.machine.cpu "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $(nproc) cores"
rec build.products "$N"
# One stage: its wall seconds and peak RSS; its JSON answer kept in $OUT/NAME.json.
stage() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$OUT/time-$name.txt" "$@" >"$OUT/$name.json" 2>"$OUT/$name.log"
  read -r secs kb <"$OUT/time-$name.txt"
  rec "build.$name.seconds" "$secs"
  rec "build.$name.peak_rss_mb" "$((kb / 1024))"
}
stage catalog "$BIN" demo-catalog --products "$N" --out "$WORK/csv"
D=$WORK/data
stage import "$BIN" --json --data-dir "$D" import --csv "$WORK/csv/amazon_products.csv" \
  --categories "$WORK/csv/amazon_categories.csv"
stage embed "$BIN" --json --data-dir "$D" embed
rec build.embed.titles_per_s "$(python3 -c "import json;print(round(json.load(open('$OUT/embed.json'))['titles_per_second'],1))")"
stage index "$BIN" --json --data-dir "$D" index
python3 - "$OUT/index.json" <<'PY' | tee -a "$FIG"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"build.index.nlist: {r['nlist']}")
print(f"build.index.default_nprobe: {r['default_nprobe']}")
print(f"build.index.recall_at_10: {r['recall_at_10']:.3f}")
PY
# The click log: simulated sessions (5 to 15 clicks each) written to the log; `simulate`
# builds the CF model at its end too, so the CF stage below is a second, timed build alone.
stage clicks "$BIN" --json --data-dir "$D" simulate --users "$USERS" --min-clicks 5 --max-clicks 15
stage cf "$BIN" --json --data-dir "$D" cf
python3 - "$OUT/cf.json" <<'PY' | tee -a "$FIG"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"build.cf.clicks: {r['clicks']}")
print(f"build.cf.users: {r['users']}")
print(f"build.cf.pairs: {r['pairs']}")
PY
rec build.data_dir_mb "$(du -sm "$D" | cut -f1)"
[ -n "${BENCH_FIGURES_APPEND:-}" ] && cat "$FIG" >>"$BENCH_FIGURES_APPEND"
echo "figures: $FIG"
