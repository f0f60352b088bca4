"""Where the embedding time goes: ONNX Runtime's own profile of the default model on real titles.

Runs the model single-threaded over the sample titles in length-sorted batches of 8 (as
`recall-lab embed` forms them) with ONNX Runtime's profiler on, and prints one JSON line: titles/s
of that run and each operator type's share of the model time, largest first.
Usage: python embed_profile.py MODEL_DIR TITLES_CSV
"""
import collections
import csv
import json
import os
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

MATMULS = {"DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulInteger", "DynamicQuantizeLinear",
           "MatMul", "FusedMatMul", "Gemm"}


def main(model_dir: str, titles_csv: str) -> None:
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.enable_truncation(256)
    tok.no_padding()
    with open(titles_csv, newline="") as f:
        titles = [r["title"] or "" for r in csv.DictReader(f)]
    encs = tok.encode_batch(titles)
    order = sorted(range(len(titles)), key=lambda i: len(encs[i].ids))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.enable_profiling = True
    # As the engine's sessions (backend/src/embed.rs, DISABLED_OPTIMIZERS).
    so.add_session_config_entry("optimization.disable_specified_optimizers",
                                "SkipLayerNormFusion;BiasSkipLayerNormFusion")
    with tempfile.TemporaryDirectory() as work:
        so.profile_file_prefix = os.path.join(work, "prof")
        s = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), so, providers=["CPUExecutionProvider"])
        for b in range(0, len(order), 8):
            ids = order[b:b + 8]
            width = max(len(encs[i].ids) for i in ids)
            a = np.zeros((len(ids), width), np.int64)
            m = np.zeros_like(a)
            for j, i in enumerate(ids):
                e = encs[i].ids
                a[j, :len(e)] = e
                m[j, :len(e)] = 1
            s.run(None, {"input_ids": a, "attention_mask": m, "token_type_ids": np.zeros_like(a)})
        with open(s.end_profiling()) as f:
            events = json.load(f)
    by_op = collections.Counter()
    total = 0
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            by_op[e["args"]["op_name"]] += e["dur"]
        if e.get("cat") == "Session" and e["name"] == "model_run":
            total += e["dur"]
    print(json.dumps({
        "titles_per_second_one_thread": round(len(titles) / (total / 1e6), 1),
        "matmul_share": round(sum(d for op, d in by_op.items() if op in MATMULS) / total, 3),
        "op_share": {op: round(d / total, 3) for op, d in by_op.most_common()},
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
