#!/usr/bin/env python3
"""Where a recall's time goes inside the server under a load generator's back-to-back requests:
medians of the per-request `recall timings` debug events (`RUST_LOG=recall_lab::recall=debug`)
in a server log, as `name: value` figures. `faiss` is each request's content channel minus
its aggregation of the hits. Usage: bench_timings.py LOG PREFIX (PREFIX: `ours.` for JSON, `ours.bin.`)."""
import re
import statistics
import sys

log, prefix = sys.argv[1], sys.argv[2]
fields = {}
for line in open(log, encoding="utf-8", errors="replace"):
    if "recall timings" not in line:
        continue
    # The log may be coloured; fields are `name=value`.
    f = {k: float(v) for k, v in re.findall(r"(\w+)_ms\S*?=([\d.eE+-]+)", re.sub(r"\x1b\[[0-9;]*m", "", line))}
    if "content" in f and "aggregate" in f:
        f["faiss"] = f["content"] - f["aggregate"]
    for k, v in f.items():
        fields.setdefault(k, []).append(v)
if not fields:
    sys.exit(f"no recall timings in {log}")
for k in ("faiss", "aggregate", "cf", "fusion", "enrich", "total"):
    print(f"{prefix}engine_{k}_p50_ms: {statistics.median(fields[k]):.3f}")
print(f"{prefix}engine_timed_requests: {len(fields['total'])}")
