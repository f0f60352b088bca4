"""Writes the Markdown result of scripts/bench_milvus.sh from its figures file.

Usage: python3 bench_milvus_report.py FIGURES COMMIT ROUNDS SEGMENT_SECONDS
"""
import re
import sys

fig_path, commit, rounds, segment = sys.argv[1:]
fig = {}
for line in open(fig_path, encoding="utf-8"):
    if ": " in line:
        k, v = line.rstrip("\n").split(": ", 1)
        fig[k] = v
sizes = sorted({int(m.group(1)) for k in fig for m in [re.match(r"n(\d+)\.", k)] if m})


def g(key, unit=""):
    v = fig.get(key)
    return "-" if v is None else f"{v}{unit}"


def ratio(a, b):
    try:
        return f"{float(fig[a]) / float(fig[b]):.2f}"
    except (KeyError, ValueError, ZeroDivisionError):
        return "-"


print(f"# FAISS and Milvus side by side ({commit})")
print()
print(f"`bash scripts/bench_milvus.sh` on {fig['machine.cpu']}; Milvus {fig['milvus.version']}, on the same")
print("machine (its idle RSS "
      f"{fig['milvus.idle_rss_mb']} MB). Each size's vectors are one build indexed by both engines: FAISS IVFFlat in")
print("the server's process, Milvus IVF_FLAT in a collection of its own (same nlist rule, nprobe calibrated the same")
print(f"way). {rounds} rounds alternate the engines; every figure is the median over the rounds (each round's")
print(f"figures under *Rounds*), each load {segment} s (the engine's own search {int(segment) * 2} s).")
print()
print("- **engine search**: `recall-bench search`, the recall's batch (10 clicked items, k 510, the server's")
print("  nprobe for k 510): FAISS in process; Milvus over gRPC from the same machine (its own search time, round")
print("  trip included). c=32 is 32 threads searching at once.")
print("- **HTTP**: wrk POST /api/recall, 10 random clicks of 2,000 and topn 500, JSON answers, against")
print("  `recall-lab serve` on each data dir; p50 latency at c=1 and c=32, requests/s at c=32.")
print()
print("| N | engine | build s | nlist / default nprobe (recall@10) | request nprobe | engine search p50 c=1 ms | engine search c=32 /s | HTTP p50 c=1 ms | HTTP p50 c=32 ms | HTTP c=32 req/s | non-2xx |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for n in sizes:
    for e in ("faiss", "milvus"):
        p = f"n{n}.{e}."
        bad = sum(int(fig.get(p + f"http_c{c}_non_2xx", 0)) for c in (1, 32))
        print(f"| {n:,} | {e} | {g(p + 'index_build_s')} | {g(p + 'nlist')} / {g(p + 'default_nprobe')} "
              f"({g(p + 'recall_at_10_default_nprobe')}) | {g(f'n{n}.request_nprobe')} | {g(p + 'search_c1_p50_ms')} | "
              f"{g(p + 'search_c32_qps')} | {g(p + 'http_c1_p50_ms')} | {g(p + 'http_c32_p50_ms')} | "
              f"{g(p + 'http_c32_rps')} | {bad} |")
print()
print("Ratios (FAISS over Milvus, same run):")
print()
print("| N | HTTP c=32 req/s | HTTP p50 c=1 (Milvus / FAISS) | engine search c=32 /s |")
print("|---|---|---|---|")
for n in sizes:
    print(f"| {n:,} | {ratio(f'n{n}.faiss.http_c32_rps', f'n{n}.milvus.http_c32_rps')} | "
          f"{ratio(f'n{n}.milvus.http_c1_p50_ms', f'n{n}.faiss.http_c1_p50_ms')} | "
          f"{ratio(f'n{n}.faiss.search_c32_qps', f'n{n}.milvus.search_c32_qps')} |")
print()
print("Memory (RSS, MB):")
print()
print("| N | raw vectors | recall-lab serve, FAISS | recall-lab serve, Milvus | Milvus server after build | Milvus server after load |")
print("|---|---|---|---|---|---|")
for n in sizes:
    print(f"| {n:,} | {g(f'n{n}.raw_vectors_mb')} | {g(f'n{n}.faiss.server_rss_mb')} | "
          f"{g(f'n{n}.milvus.recall_lab_server_rss_mb')} | {g(f'n{n}.milvus.server_rss_after_build_mb')} | "
          f"{g(f'n{n}.milvus.server_rss_under_load_mb')} |")
print()
print("Milvus indexes of the same vectors (build = insert, flush, index, load; recall@10 against exact search at the")
print("nprobe calibrated to reach 0.96, or at nprobe = nlist when it cannot; RSS growth of the Milvus server with the")
print("collection loaded, noisy at small N):")
print()
print("| N | index | build s | default nprobe | recall@10 | Milvus RSS growth MB |")
print("|---|---|---|---|---|---|")
for n in sizes:
    for t, label in (("milvus", "IVF_FLAT"), ("ivf_sq8", "IVF_SQ8"), ("ivf_pq", "IVF_PQ (m = 48, 8 bits)")):
        p = f"n{n}.{t}."
        print(f"| {n:,} | {label} | {g(p + 'index_build_s')} | {g(p + 'default_nprobe')} | "
              f"{g(p + 'recall_at_10_default_nprobe')} | {g(p + 'server_rss_growth_mb')} |")
print()
print(f"Milvus data dir after the run (all sizes' collections; older builds dropped): {g('milvus.data_dir_mb')} MB.")
print()
print("## Rounds")
print()
for k, v in fig.items():
    if k.startswith("rounds."):
        print(f"- `{k[len('rounds.'):]}`: {v}")
