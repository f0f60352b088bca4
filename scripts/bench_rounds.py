#!/usr/bin/env python3
"""Medians over the rounds of one size's HTTP loads and bare FAISS searches (scripts/bench.sh):
prints `name: value` figures, each figure's per-round values, and each round's c=32 ratio.
Usage: bench_rounds.py OUT_DIR N ROUNDS (reads OUT_DIR/bare-N-rR.txt, OUT_DIR/bare-any-N-rR.txt,
OUT_DIR/wrk-N-FMT-cC-rR.txt)."""
import re
import statistics
import sys


def ms(v):
    num = re.match(r"[\d.]+", v).group(0)
    return float(num) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[v[len(num):]]


def wrk(text):
    f = {"non2xx": 0.0}
    for line in text.splitlines():
        w = line.split()
        if w[:1] == ["50%"]:
            f["p50_ms"] = ms(w[1])
        elif w[:1] == ["99%"]:
            f["p99_ms"] = ms(w[1])
        elif line.startswith("Requests/sec"):
            f["rps"] = float(w[1])
        elif line.lstrip().startswith("Non-2xx"):
            f["non2xx"] = float(w[-1])
    return f


def main(out, n, rounds):
    series, nprobe = {}, None
    for r in range(1, rounds + 1):
        for name, prefix in ((f"bare-{n}-r{r}.txt", "faiss."), (f"bare-any-{n}-r{r}.txt", "faiss_any.")):
            try:
                lines = open(f"{out}/{name}").readlines()
            except FileNotFoundError:  # runs before the unordered search was measured
                continue
            for line in lines:
                k, v = (x.strip() for x in line.split(":", 1))
                if k == "faiss.nprobe":
                    nprobe = v
                else:
                    series.setdefault(prefix + k.removeprefix("faiss."), []).append(float(v))
        for c in (1, 32):
            for fmt, key in (("json", "ours"), ("bin", "ours.bin")):
                for k, v in wrk(open(f"{out}/wrk-{n}-{fmt}-c{c}-r{r}.txt").read()).items():
                    series.setdefault(f"{key}.http_c{c}_{k}", []).append(v)
    print(f"faiss.nprobe: {nprobe}")
    for k, vs in series.items():
        if k.endswith("non2xx"):
            print(f"{k}: {sum(vs):g}")
        else:
            print(f"{k}: {statistics.median(vs):.3f}")
            print(f"rounds.{k}: {' '.join(f'{v:g}' for v in vs)}")
    # Each round's throughput ratio to bare FAISS: the spread the medians hide.
    for key in ("ours", "ours.bin"):
        ratios = [h / b for h, b in zip(series[f"{key}.http_c32_rps"], series["faiss.c32_qps"])]
        print(f"rounds.{key}.c32_ratio: {' '.join(f'{v:.2f}' for v in ratios)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
