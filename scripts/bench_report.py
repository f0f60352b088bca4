#!/usr/bin/env python3
"""Turns the `name: value` figures of scripts/bench.sh into a markdown table with the targets of
the benchmark issue and the ratio of each figure to its reference, measured in the same run."""
import sys, datetime, platform, os

figs = {}
rounds = {}
texts = {}
for line in open(sys.argv[1]):
    if ":" in line:
        k, v = line.strip().split(":", 1)
        if k.startswith("rounds.") or ".rounds." in k:
            rounds[k.strip()] = v.strip()
            continue
        try:
            figs[k.strip()] = float(v)
        except ValueError:
            texts[k.strip()] = v.strip()
commit = sys.argv[2]


def row(what, ours, ref, ratio, target, ok):
    return f"| {what} | {ours} | {ref} | {ratio} | {target} | {'met' if ok else '**missed**'} |"


def g(k):
    return figs.get(k)


out = [f"# Benchmark results, {datetime.date.today().isoformat()} (commit {commit})", "",
       f"Machine: {texts.get('machine.cpu', 'CPU not recorded')}, {os.cpu_count()} cores, {platform.platform()}.",
       "The verdicts below hold for this machine kind: runs on other CPUs of the same 2-core VM size",
       "(`bench/results/`) met and missed different targets. One run of `bash scripts/bench.sh`; every ratio",
       "compares two figures measured in that same run. HTTP figures: wrk against `recall-lab serve`,",
       "POST /api/recall with 10 random clicked items and topn 500, answered in JSON (any client) and",
       "in bincode (`Accept: application/vnd.recall-lab.v2+bincode`, what the browser app asks for);",
       "the two loads alternate on the same server. Bare FAISS: `recall-bench search`, in-process,",
       "batches of 10 clicked items' vectors drawn at random per search from the same 2,000 items",
       "as the HTTP requests, k 510 (topn + clicks), the same nprobe, with the index's pages mapped",
       "in first (as the server does): the plain FAISS search, whose result heaps FAISS sorts best",
       "first. The engine's own search (its content channel's call) is measured too and shown beside",
       "the reference, not as it: the same index, lists and results (bit for bit, unit-tested), with",
       "its coarse step and list scan in `faiss_ivf.cpp` (eight dot products in flight instead of",
       "FAISS's one) and its own heaps left unsorted (it regroups the hits anyway).",
       "For each size the bare searches and the four HTTP loads",
       "run in rounds of short segments, one after the other on the same server (this machine's speed",
       "drifts by up to ~30% within minutes); each figure is the median over the rounds.", "",
       "| figure | ours | reference | ratio | target | |", "|---|---|---|---|---|---|"]
e, se = g("ours.embed_titles_per_s"), g("seed.embed_titles_per_s")
if e and se:
    out.append(row("embedding, titles/s (real titles)", f"{e:.0f}", f"seed {se:.0f}", f"{e/se:.2f}×", "≥ 3×", e / se >= 3))
    for kind in ("int8", "fp32"):
        c = g(f"ceiling.{kind}_titles_per_s")
        if c:
            out.append(f"| bound: the model's {kind} matrix products alone, titles/s | {c:.0f} | seed {se:.0f} | {c/se:.2f}× | (what ≥ 3× needs) | |")
    ms = g("profile.matmul_share")
    if ms:
        out.append(f"| share of the model's time in its matrix products (ONNX Runtime profile) | {ms:.0%} | | | | |")
FORMATS = (("ours.", "JSON"), ("ours.bin.", "bincode"))
sp = g("seed.recall_p50_ms")
for k, fmt in FORMATS:
    p = g(f"n4960.{k}http_c1_p50_ms")
    if p and sp:
        out.append(row(f"recall p50 at N=4,960 (HTTP {fmt} vs seed in-process, nlist 256, nprobe 16)", f"{p:.2f} ms", f"seed {sp:.2f} ms", f"{p/sp:.3f}", "≤ 0.2", p / sp <= 0.2))
for n in (4960, 100000, 1000000):
    pre = f"n{n}."
    if g(pre + "ours.http_c1_p50_ms") is None:
        continue
    f1, f32 = g(pre + "faiss.c1_p50_ms"), g(pre + "faiss.c32_qps")
    label = f"N={n:,}"
    for k, fmt in FORMATS:
        h = g(pre + k + "http_c1_p50_ms")
        if n != 4960 and f1 and h:
            out.append(row(f"{label}: recall p50, c=1 (HTTP {fmt} vs bare FAISS)", f"{h:.2f} ms", f"{f1:.2f} ms", f"{h/f1:.2f}×", "≤ 1.5×", h / f1 <= 1.5))
    for k, fmt in FORMATS:
        h, fl = g(pre + k + "http_c1_p50_ms"), g(pre + k.replace("ours.", "") + "http_floor_c1_p50_ms")
        if n != 4960 and f1 and h and fl:
            out.append(f"| bound: bare FAISS c=1 p50 plus the {fmt} HTTP floor alone (no engine work beyond the search) | {f1 + fl:.2f} ms | {f1:.2f} ms | {(f1 + fl)/f1:.2f}× | (what ≤ 1.5× leaves) | |")
    for k, fmt in FORMATS:
        r = g(pre + k + "http_c32_rps")
        if r and f32:
            out.append(row(f"{label}: throughput c=32 (HTTP {fmt} vs bare FAISS)", f"{r:.0f}/s", f"{f32:.0f}/s", f"{r/f32:.2f}", "≥ 0.70", r / f32 >= 0.7))
    for k, fmt in FORMATS:
        fl = g(pre + k.replace("ours.", "") + "http_floor_c32_rps")
        if f32 and fl:
            # CPU time per request adds: the search's, then the floor's (same 2 cores).
            b = 1 / (1 / f32 + 1 / fl)
            out.append(f"| bound: bare FAISS c=32 plus the {fmt} HTTP floor alone (no engine work beyond the search) | {b:.0f}/s | {f32:.0f}/s | {b/f32:.2f} | (what ≥ 0.70 leaves) | |")
    a1, a32 = g(pre + "faiss_any.c1_p50_ms"), g(pre + "faiss_any.c32_qps")
    if a1 and a32 and f1 and f32:
        out.append(f"| the engine's own search, bare (faiss_ivf.cpp's coarse step and list scan, FAISS's results; heaps unsorted): c=1 p50, c=32 | {a1:.2f} ms, {a32:.0f}/s | {f1:.2f} ms, {f32:.0f}/s | {a1/f1:.2f}×, {a32/f32:.2f}× | (not a target; the reference above is the plain search) | |")
    r1, r32 = g(pre + "ours.http_c1_rps"), g(pre + "ours.http_c32_rps")
    if r1 and r32:
        out.append(row(f"{label}: throughput c=32 vs c=1 (HTTP JSON; a 10-click recall alone uses both cores)", f"{r32:.0f}/s", f"{r1:.0f}/s", f"{r32/r1:.2f}×", "≥ 1.6× (server issue: see load.sh)", r32 / r1 >= 1.6))
    rc = g(pre + "ours.recall_at_10_default_nprobe")
    if rc is not None:
        out.append(row(f"{label}: ANN recall@10 at default nprobe {g(pre + 'ours.default_nprobe'):.0f}", f"{rc:.3f}", "exact search", "", "≥ 0.95", rc >= 0.95))
    b, fb = g(pre + "ours.index_train_add_s"), g(pre + "faisscpu.index_train_add_s")
    if b and fb and n == 1000000:
        out.append(row(f"{label}: index train+add (ours vs faiss-cpu, same vectors and nlist)", f"{b:.1f} s", f"{fb:.1f} s", f"{b/fb:.2f}×", "≤ 1.2×", b / fb <= 1.2))
    st = g(pre + "ours.serve_to_first_answer_s")
    if st is not None and n == 1000000:
        out.append(row(f"{label}: serve to first answer", f"{st:.2f} s", "", "", "≤ 3 s", st <= 3))
    rss, raw = g(pre + "ours.server_rss_mb"), g(pre + "raw_vectors_mb")
    if rss and raw and n == 1000000:
        out.append(row(f"{label}: server RSS vs raw vectors", f"{rss:.0f} MB", f"{raw:.0f} MB", f"{rss/raw:.2f}×", "≤ 1.3×", rss / raw <= 1.3))
out += ["", "## Where a recall's time goes", "",
        "Medians of the server's own per-request timings (a debug event per recall) under wrk's",
        "back-to-back POST /api/recall at c=1 (10 clicks, topn 500), from a second start of the same",
        "server after the loads above; `search in the server` is each request's search (the engine's",
        "own, as its content channel calls it) minus its",
        "aggregation of the hits, and `HTTP c=1 p50` is wrk's in that same load. `HTTP floor` is the",
        "same server sending a static file of the same size as a recall response (no engine work at",
        "all), measured with the same wrk settings on the same 2 cores. Each cell with two figures is",
        "JSON / bincode.", "",
        "| N | bare FAISS c=1 p50 | search in the server | aggregation | CF | fusion | enrichment (500 rows) | engine total | HTTP c=1 p50 | response | HTTP floor c=1 p50 | bare FAISS c=32 | HTTP floor c=32 | HTTP c=32 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for n in (4960, 100000, 1000000):
    pre = f"n{n}."
    if g(pre + "ours.engine_total_p50_ms") is None:
        continue
    f = lambda k, fmt="{:.2f}": fmt.format(g(pre + k)) if g(pre + k) is not None else "–"
    both = lambda a, b, fmt="{:.2f}": f"{f(a, fmt)} / {f(b, fmt)}"
    eng = lambda part: both(f"ours.engine_{part}_p50_ms", f"ours.bin.engine_{part}_p50_ms")
    out.append(f"| {n:,} | {f('faiss.c1_p50_ms')} ms | {eng('faiss')} ms | {eng('aggregate')} ms | {eng('cf')} ms | "
               f"{eng('fusion')} ms | {eng('enrich')} ms | {eng('total')} ms | {both('ours.timed_http_c1_p50_ms', 'ours.bin.timed_http_c1_p50_ms')} ms | "
               f"{both('ours.response_kb', 'ours.bin.response_kb', '{:.0f}')} KB | {both('http_floor_c1_p50_ms', 'bin.http_floor_c1_p50_ms')} ms | "
               f"{f('faiss.c32_qps', '{:.0f}')}/s | {both('http_floor_c32_rps', 'bin.http_floor_c32_rps', '{:.0f}')}/s | "
               f"{both('ours.http_c32_rps', 'ours.bin.http_c32_rps', '{:.0f}')}/s |")
out += ["", "In-process, no HTTP (criterion medians, `cargo bench --bench engine`, same data dirs): the bare",
        "FAISS batch search, enrichment of 500 random rows from `products.rows` (what a recall reads) and,",
        "for comparison, from SQLite (what a recall reads after an import, until a reindex) through the",
        "enrichment reader (the default 128 MiB memory map, and the whole file mapped) and through a",
        "pooled connection (pread), a whole `Engine::recall` (10 clicks, topn 500), the encoding of",
        "its typed answer in JSON and in bincode, and `Engine::recall_into` (the whole recall straight",
        "to its bytes, products written from their records: what the server runs) in bincode and JSON:", "",
        "| N | bare FAISS search | enrich 500, products.rows | enrich 500, SQLite default map | enrich 500, SQLite whole file mapped | enrich 500, SQLite pread | Engine::recall | typed answer to JSON | typed answer to bincode | Engine::recall_into bincode | Engine::recall_into JSON |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
for n in (4960, 100000, 1000000):
    pre = f"n{n}.criterion."
    if g(pre + "recall_10_clicks_top500.engine_ms") is None:
        continue
    f = lambda k: f"{g(pre + k):.2f} ms" if g(pre + k) is not None else "–"
    out.append(f"| {n:,} | {f('faiss_search_10x510.bare_ms')} | {f('enrich_500.rows_file_ms')} | {f('enrich_500.reader_default_map_ms')} | "
               f"{f('enrich_500.reader_whole_file_mapped_ms')} | {f('enrich_500.pread_connection_ms')} | "
               f"{f('recall_10_clicks_top500.engine_ms')} | {f('encode_answer_500.json_ms')} | {f('encode_answer_500.bincode_ms')} | {f('recall_10_clicks_top500.engine_bincode_ms')} | {f('recall_10_clicks_top500.engine_json_ms')} |")
if "rounds.seed.embed_titles_per_s" in rounds:
    out += ["", f"Embedding rounds, titles/s (the seed's and ours alternate; medians above): seed "
            f"{rounds['rounds.seed.embed_titles_per_s']}; ours {rounds.get('rounds.ours.embed_titles_per_s', '–')}."]
if any(".rounds." in k for k in rounds):
    out += ["", "Each round's figures (the medians above come from these): bare FAISS c=32, HTTP c=32",
            "(JSON / bincode) and their ratio, HTTP c=1 p50 (JSON / bincode) against bare FAISS c=1 p50.", "",
            "| N | bare FAISS c=32 | HTTP c=32 | ratio c=32 | bare FAISS c=1 p50 | HTTP c=1 p50 |",
            "|---|---|---|---|---|---|"]
    for n in (4960, 100000, 1000000):
        r = lambda k: rounds.get(f"n{n}.rounds.{k}", "–")
        if f"n{n}.rounds.faiss.c32_qps" not in rounds:
            continue
        out.append(f"| {n:,} | {r('faiss.c32_qps')} /s | {r('ours.http_c32_rps')} / {r('ours.bin.http_c32_rps')} /s | "
                   f"{r('ours.c32_ratio')} / {r('ours.bin.c32_ratio')} | {r('faiss.c1_p50_ms')} ms | "
                   f"{r('ours.http_c1_p50_ms')} / {r('ours.bin.http_c1_p50_ms')} ms |")
out += ["", "Server memory at the end of each size's load (VmRSS = anonymous + file-backed pages; the",
        "inverted lists and `products.rows` are memory-mapped, so their touched pages count as",
        "file-backed; clicked rows of `product_emb.npy` are read with pread and map nothing):", "",
        "| N | VmRSS | anonymous | file-backed | raw vectors |", "|---|---|---|---|---|"]
for n in (4960, 100000, 1000000):
    pre = f"n{n}."
    if g(pre + "ours.server_rss_mb") is None:
        continue
    out.append(f"| {n:,} | {g(pre + 'ours.server_rss_mb'):.0f} MB | {g(pre + 'ours.server_rss_anon_mb') or 0:.0f} MB | "
               f"{g(pre + 'ours.server_rss_file_mb') or 0:.0f} MB | {g(pre + 'raw_vectors_mb'):.0f} MB |")
nbr_sizes = sorted({int(k.split(".")[0][1:]) for k in figs if ".nbr." in k})
if nbr_sizes:
    out += ["", "## Neighbourhood structure: the real sample and the synthetic catalogs", "",
            "`recall-bench neighbours`, 500 items evenly spaced over each catalog's rows: the cosine of each",
            "item's nearest and 10th-nearest other item (exact search), the index's nlist and calibrated",
            "default nprobe, and recall@10 against exact search at each nprobe of the sweep. N=4,960 is the",
            "real sample; the larger catalogs are the sample plus synthetic items whose vectors lie between",
            "a real item and one of its ten nearest neighbours, plus noise with the real vectors' covariance,",
            "its scale fitted at each size to the sample's median nearest cosine (`recall-bench data`). The",
            "other figures are not fitted: they are the check.", "",
            "| figure | " + " | ".join(f"N = {n:,}" + (" (real)" if n == 4960 else " (synthetic)") for n in nbr_sizes) + " |",
            "|---|" + "---|" * len(nbr_sizes)]
    def cell(n, *ks):
        v = [figs.get(f"n{n}.nbr.{k}") for k in ks]
        return " / ".join("–" if x is None else f"{x:.3f}" for x in v)
    def intcell(n, k):
        v = figs.get(f"n{n}.nbr.{k}")
        return "–" if v is None else f"{int(v):,}"
    out.append("| nearest other item, cosine p10 / p50 / p90 | " + " | ".join(cell(n, "top1_cos_p10", "top1_cos_p50", "top1_cos_p90") for n in nbr_sizes) + " |")
    out.append("| 10th-nearest, cosine p10 / p50 / p90 | " + " | ".join(cell(n, "top10_cos_p10", "top10_cos_p50", "top10_cos_p90") for n in nbr_sizes) + " |")
    out.append("| nlist | " + " | ".join(intcell(n, "nlist") for n in nbr_sizes) + " |")
    out.append("| **calibrated default nprobe** | " + " | ".join(intcell(n, "default_nprobe") for n in nbr_sizes) + " |")
    probes = sorted({int(k.rsplit("_", 1)[1]) for k in figs if ".nbr.recall10_nprobe_" in k and not k.endswith("_all")})
    for p in probes:
        if p > 256:
            continue
        out.append(f"| recall@10 at nprobe {p} | " + " | ".join(cell(n, f"recall10_nprobe_{p}") for n in nbr_sizes) + " |")
    fits = [n for n in nbr_sizes if texts.get(f"n{n}.data_noise_scale") or figs.get(f"n{n}.data_noise_scale")]
    if fits:
        out += ["", "The fit: " + "; ".join(f"N = {n:,}: noise scale {figs.get(f'n{n}.data_noise_scale')}, "
                f"median nearest cosine of the fit's trial catalog {texts.get(f'n{n}.data_fit_fitted_top1_cos_p10_p50_p90', '–').split()[1]} "
                f"(real {texts.get(f'n{n}.data_fit_real_top1_cos_p10_p50_p90', '–').split()[1]})" for n in fits) + "."]

if any(k.startswith("clicks.") for k in list(figs) + list(texts) + list(rounds)):
    import statistics
    c = lambda k: figs.get("clicks." + k)
    med = lambda k: statistics.median(float(x) for x in rounds["clicks." + k].split())
    out += ["", "## Click volume", "",
            "`scripts/bench_clicks.sh`: the sample with click logs of four volumes (simulated users, 5 to 15",
            "clicks each); the same recall load (JSON, 10 clicks, topn 500), the servers in alternating",
            "rounds, medians over the rounds; CF reads the precomputed item-to-item model (k 100).", "",
            "| clicks in the log | users | CF model build | recall p50, c=1 | throughput, c=32 |", "|---|---|---|---|---|"]
    for v in ("none", "small", "mid", "large"):
        if c(f"{v}.clicks") is None:
            continue
        out.append(f"| {int(c(v + '.clicks')):,} | {int(c(v + '.users')):,} | {c(v + '.cf_build_s'):.2f} s | "
                   f"{med(v + '.rounds.c1_p50_ms'):.2f} ms | {med(v + '.rounds.c32_rps'):.0f}/s |")
    if c("small.clicks") is not None and c("large.clicks") is not None:
        out.append("")
        out.append(f"p50 with ~10M clicks against ~1,000: {med('large.rounds.c1_p50_ms') / med('small.rounds.c1_p50_ms'):.2f}× "
                   "(target ≤ 1.2×). `clicks import` of the ~10M-line log: "
                   f"{c('import.run1.lines_per_s'):,.0f} lines/s, {int(c('import.run1.added')):,} added; "
                   f"the re-run added {int(c('import.run2.added')):,}.")

if any(k.startswith("build.") for k in figs):
    b = lambda k: figs.get("build." + k)
    out += ["", f"## End-to-end build at {int(b('products')):,} products", "",
            "`scripts/bench_build.sh`: the demo generator's catalog through every stage, each a separate",
            f"process timed by /usr/bin/time ({texts.get('build.machine.cpu', '')}).", "",
            "| stage | wall time | peak RSS | |", "|---|---|---|---|"]
    notes = {
        "catalog": "demo-catalog: writing the CSV files (input, not a build stage)",
        "import": "products CSV into SQLite",
        "embed": f"all-MiniLM-L6-v2 (the default model), {b('embed.titles_per_s') or 0:,.0f} titles/s",
        "index": f"IVF{int(b('index.nlist') or 0)},Flat; calibrated default nprobe {int(b('index.default_nprobe') or 0)} (recall@10 {b('index.recall_at_10') or 0:.3f})",
        "clicks": f"simulated sessions into the click log (its CF build included)",
        "cf": f"CF model from {int(b('cf.clicks') or 0):,} clicks of {int(b('cf.users') or 0):,} users, {int(b('cf.pairs') or 0):,} pairs",
    }
    for st, note in notes.items():
        if b(st + ".seconds") is None:
            continue
        secs = b(st + ".seconds")
        out.append(f"| {st} | {secs:,.1f} s ({secs / 60:.1f} min) | {b(st + '.peak_rss_mb'):,.0f} MB | {note} |")
    if b("data_dir_mb"):
        out += ["", f"The data dir at the end: {b('data_dir_mb'):,.0f} MB."]
out += ["", "## All figures", "", "```"] + [f"{k}: {v}" for k, v in figs.items()] + ["```"]
print("\n".join(out))
