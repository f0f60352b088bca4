#!/usr/bin/env bash
# Sets everything up, builds the demo catalog the repository ships (backend/demo), simulates
# click sessions, and serves the app at http://127.0.0.1:8080 (Ctrl-C to stop).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
trunk build --release >/dev/null
cargo build --release -p backend
DATA="${RECALL_LAB_DATA_DIR:-data/demo}"
"$BIN" build --csv backend/demo/amazon_products.csv --categories backend/demo/amazon_categories.csv --data-dir "$DATA" --draw-images
"$BIN" simulate --users 300 --data-dir "$DATA"
echo "Recall Lab: open http://${RECALL_LAB_ADDR:-127.0.0.1:8080}/"
exec "$BIN" serve --data-dir "$DATA" "$@"
