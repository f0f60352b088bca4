"""Fidelity of one data dir's vectors to reference vectors of the same CSV's titles: cosine per
title and top-10 neighbour overlap (exact inner product over all titles, each title itself left out).
Usage: python model_fidelity.py PRODUCTS.csv REFERENCE.npy DATA_DIR NAME   (prints one JSON line)
"""
import csv
import json
import os
import sys

import numpy as np


def nearest(x, k=10):
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    return np.argpartition(-s, k, axis=1)[:, :k]


def main(products_csv, reference_npy, data_dir, name):
    asins = [r["asin"] for r in csv.DictReader(open(products_csv, newline="", encoding="utf-8"))]
    ref = np.load(reference_npy)
    vecs = np.load(os.path.join(data_dir, "product_emb.npy"))
    order = [line.strip() for line in open(os.path.join(data_dir, "asin_list.txt")) if line.strip()]
    row = {a: i for i, a in enumerate(order)}
    x = vecs[[row[a] for a in asins]]
    cos = (ref * x).sum(1)
    a, b = nearest(ref), nearest(x)
    overlap = float(np.mean([len(set(a[i]) & set(b[i])) / 10 for i in range(len(x))]))
    print(json.dumps({"model": name, "titles": len(x), "cosine_mean": float(cos.mean()),
                      "cosine_min": float(cos.min()), "top10_overlap": overlap}))


if __name__ == "__main__":
    main(*sys.argv[1:])
