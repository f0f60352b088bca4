"""The table of scripts/bench_models.sh from its output folder (rounds.txt, fidelity.jsonl,
candidates.jsonl, held_out.jsonl): usage python bench_models_report.py OUT CPU COMMIT ROUNDS > RESULT.md"""
import glob, json, os, statistics, sys
out, cpu, commit, rounds = sys.argv[1:]
speeds = {}
for line in open(os.path.join(out, "rounds.txt")):
    name, tps = line.split()
    speeds.setdefault(name, []).append(float(tps))
seed = statistics.median(speeds["seed"])
fid = {r["model"]: r for r in map(json.loads, open(os.path.join(out, "fidelity.jsonl")))}
print(f"# Embedding models against fp32 sentence-transformers ({commit})\n")
print(f"`bash scripts/bench_models.sh` on {cpu}, 2 cores; the 4,960 titles of the real sample.")
print(f"Speed: `recall-lab embed --model NAME` from scratch and the seed's embedding (sentence-transformers,")
print(f"2 threads) alternate, {rounds} rounds; medians, and each round's figure. Fidelity: the last round's")
print("vectors against sentence-transformers' (cosine; top-10 neighbour overlap by exact inner product).\n")
print("| model | titles/s | × seed | rounds | cosine mean | cosine min | top-10 overlap |")
print("|---|---|---|---|---|---|---|")
print(f"| seed (sentence-transformers fp32) | {seed:.0f} | 1.00 | {' / '.join(f'{v:.0f}' for v in speeds['seed'])} | 1 | 1 | 1 |")
for name, v in speeds.items():
    if name == "seed":
        continue
    f = fid[name]
    med = statistics.median(v)
    print(f"| {name} | {med:.0f} | {med / seed:.2f} | {' / '.join(f'{x:.0f}' for x in v)} | {f['cosine_mean']:.5f} | {f['cosine_min']:.4f} | {f['top10_overlap']:.4f} |")
path = os.path.join(out, "candidates.jsonl")
if os.path.exists(path):
    print("\n## Every candidate tried for the default\n")
    print("Remade from the int8-weight file's graph and the fp32 checkpoint, and measured in one harness")
    print("(`scripts/model_candidates.py`: ONNX Runtime from Python, one session of 2 threads, batches of 16")
    print("titles sorted by length), after the rounds above; calibration (SmoothQuant maxima, GPTQ)")
    print("on the demo catalog's titles, never the sample's. × seed divides by the seed's median above.")
    passes = os.environ.get("CANDIDATE_PASSES")
    if passes:
        earlier = sorted(os.path.basename(p) for p in glob.glob("bench/results/*-models-*.md") if commit not in p)
        print(f"This run remade pass {passes} only (CANDIDATE_PASSES), with the fp32 reference and recipe 4 as")
        print("yardsticks; the earlier passes' candidates are in " + ", ".join(f"`{e}`" for e in earlier) + ".")
    print()
    print("| candidate | titles/s | × seed | cosine mean | cosine min | top-10 overlap |")
    print("|---|---|---|---|---|---|")
    for r in map(json.loads, open(path)):
        print(f"| {r['candidate']} | {r['titles_per_s']:.0f} | {r['titles_per_s'] / seed:.2f} | {r['cosine_mean']:.5f} | {r['cosine_min']:.4f} | {r['top10_overlap']:.4f} |")
path = os.path.join(out, "held_out.jsonl")
if os.path.exists(path):
    print("\n## How the default was chosen: held-out demo titles\n")
    print("The same candidates calibrated on the demo catalog's even rows and compared with the fp32 graph")
    print("on its odd rows (`model_candidates.py --held-out`): no title of the sample is looked at.\n")
    print("| candidate | titles | mean 1-cos ×1e-4 | cosine min | top-10 overlap |")
    print("|---|---|---|---|---|")
    for r in map(json.loads, open(path)):
        print(f"| {r['candidate']} | {r['held_out_titles']} | {r['mean_1_minus_cos_e4']:.2f} | {r['cosine_min']:.4f} | {r['top10_overlap']:.4f} |")
