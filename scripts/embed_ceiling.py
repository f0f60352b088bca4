"""The embedding speed this machine allows: all-MiniLM-L6-v2's matrix products alone, timed.

Times, in ONNX Runtime, the six layers' matrix products
(Q, K, V and attention output 384x384; FFN 384x1536 and 1536x384) on one batch of 8 titles
(8 x 33 tokens: the sample's titles average 32.8 tokens, 32.8 with the padding of length-sorted
batches of 8), once in fp32 and once dynamically quantized to int8 like the default model. Nothing
else of the model runs (no embeddings lookup, attention softmax, LayerNorm, GELU, pooling,
tokenization), so the titles/s printed are an upper bound for a model that does all of them.
Two layouts, as `recall-lab embed --workers W --threads T` can run: one session with a thread per
core, and one single-threaded session per core running side by side; the bound is the faster.
Usage: python embed_ceiling.py -> one JSON line.
"""
import json
import os
import sys
import tempfile
import threading
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

TOKENS = 8 * 33
TITLES = 8
LAYERS = 6
# (K, N, count per layer)
SHAPES = [(384, 384, 4), (384, 1536, 1), (1536, 384, 1)]


def graph(path: str, k: int, n: int) -> None:
    rng = np.random.default_rng(7)
    w = numpy_helper.from_array((rng.standard_normal((k, n)) * 0.05).astype(np.float32), "W")
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, k])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, n])
    g = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], "mm", [x], [y], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)


def seconds(path: str, k: int, sessions: int, threads: int) -> float:
    """Median time of one product, with `sessions` sessions running it side by side."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    runs = [ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]) for _ in range(sessions)]
    x = np.random.default_rng(3).standard_normal((TOKENS, k)).astype(np.float32)
    medians = [0.0] * sessions
    start = threading.Barrier(sessions)

    def work(i: int) -> None:
        for _ in range(20):
            runs[i].run(None, {"X": x})
        start.wait()
        times = []
        for _ in range(300):
            t = time.perf_counter()
            runs[i].run(None, {"X": x})
            times.append(time.perf_counter() - t)
        medians[i] = float(np.median(times))

    team = [threading.Thread(target=work, args=(i,)) for i in range(sessions)]
    for t in team:
        t.start()
    for t in team:
        t.join()
    return max(medians)


def main() -> None:
    cores = os.cpu_count() or 1
    out = {"tokens_per_batch": TOKENS, "titles_per_batch": TITLES}
    with tempfile.TemporaryDirectory() as work:
        for kind in ("fp32", "int8"):
            best = None
            for sessions, threads in ((1, cores), (cores, 1)):
                per_batch = 0.0
                for k, n, count in SHAPES:
                    f = os.path.join(work, f"mm_{k}_{n}.onnx")
                    graph(f, k, n)
                    if kind == "int8":
                        q = os.path.join(work, f"mm_{k}_{n}_q.onnx")
                        quantize_dynamic(f, q, per_channel=True, weight_type=QuantType.QInt8)
                        f = q
                    per_batch += seconds(f, k, sessions, threads) * count * LAYERS
                tps = sessions * TITLES / per_batch
                out[f"{kind}_{sessions}x{threads}_titles_per_second"] = round(tps, 1)
                if best is None or tps > best:
                    best = tps
            out[kind] = {"titles_per_second_bound": round(best, 1)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
