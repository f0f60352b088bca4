# Sourced by the scripts: where caches and build output live, shared by every clone so that
# repeated runs (and CI on fresh clones) reuse the compiled dependencies and the model.
export RECALL_LAB_CACHE="${RECALL_LAB_CACHE:-$HOME/.cache/recall-lab}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$RECALL_LAB_CACHE/target}"
export PATH="$HOME/.cargo/bin:$PATH"
BIN="$CARGO_TARGET_DIR/release/recall-lab"
