#!/usr/bin/env bash
# The server under load (the server issue's figures): recall requests from 1 connection and from
# 64 connections for 30 s each (wrk), with a reindex started during the 64-connection run; prints
# throughputs, their ratio, non-2xx counts, and the index generation before and after.
# Usage: bash scripts/load.sh DATA_DIR [SECONDS]
# Writes the figures to bench/results/<date>-server-load.md (with the commit they were taken at).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
D=$1; S=${2:-30}
PORT=18$((RANDOM % 900 + 100)); TOKEN=load-$RANDOM
RECALL_LAB_ADMIN_TOKEN=$TOKEN "$BIN" serve --data-dir "$D" --addr "127.0.0.1:$PORT" 2>/dev/null &
PID=$!; trap 'kill $PID 2>/dev/null' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/health"; do sleep 0.05; done
for a in $(awk 'NR % 991 == 7' "$D/asin_list.txt" | head -n 5); do
  curl -sf -o /dev/null -X POST -H 'content-type: application/json' -d "{\"asin\":\"$a\"}" "http://127.0.0.1:$PORT/api/users/load-u1/clicks"
done
URL="http://127.0.0.1:$PORT/api/users/load-u1/recall?topn=500"
gen() { curl -s "http://127.0.0.1:$PORT/api/stats" | python3 -c "import json,sys;print(json.load(sys.stdin)['generation'])"; }
wrk -t1 -c1 -d"${S}s" --latency "$URL" >/tmp/load-c1.txt
G0=$(gen)
wrk -t2 -c64 -d"${S}s" --latency "$URL" >/tmp/load-c64.txt &
W=$!
sleep $((S / 3))
JOB=$(curl -s -X POST -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/admin/reindex" | python3 -c "import json,sys;print(json.load(sys.stdin)['id'])")
until curl -s -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/admin/jobs/$JOB" | grep -qE '"state":"(done|failed)"'; do sleep 0.5; done
wait $W
G1=$(gen)
R1=$(awk '/Requests\/sec/{print $2}' /tmp/load-c1.txt); R64=$(awk '/Requests\/sec/{print $2}' /tmp/load-c64.txt)
N1=$(awk '/Non-2xx/{print $NF}' /tmp/load-c1.txt); N64=$(awk '/Non-2xx/{print $NF}' /tmp/load-c64.txt)
E64=$(awk '/Socket errors/{print $0}' /tmp/load-c64.txt)
OUTF="bench/results/$(date -u +%Y-%m-%d)-server-load.md"
mkdir -p bench/results
{
  echo "# Server under load, $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD))"
  echo
  echo "\`bash scripts/load.sh $D $S\` on $(nproc) cores: wrk GET /api/users/load-u1/recall?topn=500 (5 stored clicks),"
  echo "1 connection for ${S} s, then 64 connections for ${S} s with POST /api/admin/reindex started after $((S / 3)) s."
  echo "Catalog: $(wc -l <"$D/asin_list.txt") items."
  echo
  echo '```'
  echo "load.c1_rps: $R1"
  echo "load.c1_p50: $(awk '$1=="50%"{print $2}' /tmp/load-c1.txt)"
  echo "load.c64_rps: $R64"
  echo "load.c64_p50: $(awk '$1=="50%"{print $2}' /tmp/load-c64.txt)"
  echo "load.c64_p99: $(awk '$1=="99%"{print $2}' /tmp/load-c64.txt)"
  echo "load.ratio_c64_over_c1: $(python3 -c "print(round($R64/$R1,2))")"
  echo "load.non2xx_c1: ${N1:-0}"
  echo "load.non2xx_c64_during_reindex: ${N64:-0}"
  echo "load.socket_errors_c64: ${E64:-none}"
  echo "load.requests_c64: $(awk '/requests in/{print $1}' /tmp/load-c64.txt)"
  echo "load.generation_before_after: $G0 -> $G1"
  echo "load.reindex_job: $(curl -s -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/admin/jobs/$JOB")"
  echo '```'
} | tee "$OUTF"
