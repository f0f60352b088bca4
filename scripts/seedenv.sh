# Sourced by the benchmark scripts: the seed's Python environment (sentence-transformers and
# faiss-cpu, as the article uses them), made once in $RECALL_LAB_CACHE/seedenv, and the fp32
# checkpoint as sentence-transformers loads it (unpacked by setup).
SEEDENV="$RECALL_LAB_CACHE/seedenv"
if ! "$SEEDENV/bin/python" -c "import sentence_transformers, faiss, numpy" >/dev/null 2>&1; then
  echo "[bench] making the seed's Python environment (sentence-transformers, faiss-cpu; large, once)" >&2
  rm -rf "$SEEDENV"; python3 -m venv "$SEEDENV"
  "$SEEDENV/bin/pip" install --quiet sentence-transformers faiss-cpu numpy
fi
FP32="$RECALL_LAB_CACHE/models/all-MiniLM-L6-v2-sentence-transformers"
