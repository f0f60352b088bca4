# Sourced by the scripts: where caches and build output live, shared by every clone so that
# repeated runs (and CI on fresh clones) reuse the compiled dependencies and the model.
export RECALL_LAB_CACHE="${RECALL_LAB_CACHE:-$HOME/.cache/recall-lab}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$RECALL_LAB_CACHE/target}"
export PATH="$HOME/.cargo/bin:$PATH"
BIN="$CARGO_TARGET_DIR/release/recall-lab"

# FAISS (C++, compiled by faiss-sys with cmake) gets the SIMD this CPU has: with AVX2, FMA,
# F16C and POPCNT, the flags of FAISS's own "avx2" build, so its distance kernels take their
# AVX2 paths instead of the generic ones. faiss-sys's build script does not watch compiler flags,
# so a stamp in the target dir records the flags its FAISS is (or will be) compiled with, and a
# cached FAISS compiled with other flags is cleaned first.
RECALL_LAB_FAISS_CXXFLAGS=""
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && grep -qw f16c /proc/cpuinfo && grep -qw popcnt /proc/cpuinfo; then
  RECALL_LAB_FAISS_CXXFLAGS="-mavx2 -mfma -mf16c -mpopcnt"
fi
export CXXFLAGS_x86_64_unknown_linux_gnu="$RECALL_LAB_FAISS_CXXFLAGS"
faiss_stamp="$CARGO_TARGET_DIR/faiss-cxxflags"
if [ "$(cat "$faiss_stamp" 2>/dev/null)" != "$RECALL_LAB_FAISS_CXXFLAGS" ]; then
  if ! compgen -G "$CARGO_TARGET_DIR/*/build/faiss-sys-*" >/dev/null \
    || { cargo clean -p faiss-sys --release --quiet && cargo clean -p faiss-sys --quiet; }; then
    mkdir -p "$CARGO_TARGET_DIR" && echo "$RECALL_LAB_FAISS_CXXFLAGS" >"$faiss_stamp"
  fi
fi
