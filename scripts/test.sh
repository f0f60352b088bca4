#!/usr/bin/env bash
# Sets everything up and runs every test: formatting, lints, unit and integration tests on the
# real sample (../shared/data/amazon-sample when present), and the browser tests in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh

cargo fmt --all --check
cargo clippy --release --quiet -p common -p backend -p recall-lab-tests --all-targets -- -D warnings
cargo clippy --release --quiet -p frontend --target wasm32-unknown-unknown -- -D warnings
trunk build --release >/dev/null
cargo build --release -p backend

# Each run builds its own test catalog once (shared by all test binaries); drop older ones.
export RECALL_LAB_TEST_RUN="run-$(date +%s)-$$"
find "$CARGO_TARGET_DIR/release/test-data" -maxdepth 1 -name 'catalog-run-*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
cargo test --release -p common -p backend -p recall-lab-tests
echo "all tests passed"
