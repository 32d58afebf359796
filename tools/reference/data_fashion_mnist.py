#!/usr/bin/env python3
"""Reads the Fashion-MNIST gzipped IDX files with gzip + NumPy and reports facts the Swift loader must reproduce.

Input:  {"dir": "/usr/share/datasets/fashion-mnist", "binarize_rows": [test image indices]}
Output: shapes, the first 20 labels of each split, label counts, pixel sums of a few images, and the autoencoder
        input binarisation (ALGORITHMS.md 1.4a, float32 as torchvision ToTensor + BH min_max_normalization + round)
        of the requested test images.
        With "subset": {"queries_per_class": q, "database_per_class": d}: the `fashion-mnist-20k` selection (TARGETS.md)
        — query indices (first q test images of each class, class by class) and the sorted database indices (first d
        train images of each class) with the sorted pixel sums of those database images.
"""
import gzip
import json
import os
import sys

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    assert data[0] == 0 and data[1] == 0 and data[2] == 0x08
    ndims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndims).reshape(shape)


def binarize(img):
    x = img.reshape(-1).astype(np.float32) / np.float32(255)
    t = x - x.min()
    t = t / t.max()
    return np.round(t)


def main():
    cfg = json.load(sys.stdin)
    d = cfg["dir"]
    out = {}
    for split in ["train", "t10k"]:
        images = read_idx(os.path.join(d, f"{split}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(d, f"{split}-labels-idx1-ubyte.gz"))
        out[split] = {
            "image_shape": list(images.shape), "label_count": int(labels.shape[0]),
            "first_labels": [int(v) for v in labels[:20]],
            "label_counts": [int(v) for v in np.bincount(labels, minlength=10)],
            "pixel_sums": {str(i): int(images[i].astype(np.int64).sum()) for i in [0, 1, len(images) - 1]},
            "mean_scaled": float((images.astype(np.float64) / 255.0).mean()),
        }
        if split == "t10k":
            out["binarized"] = {str(i): [int(v) for v in binarize(images[i])] for i in cfg.get("binarize_rows", [])}
        if "subset" in cfg:
            key = "queries_per_class" if split == "t10k" else "database_per_class"
            n = cfg["subset"][key]
            chosen = np.concatenate([np.flatnonzero(labels == c)[:n] for c in range(10)])
            if split == "t10k":
                out["subset_queries"] = [int(i) for i in chosen]
            else:
                chosen = np.sort(chosen)
                out["subset_database_sorted"] = [int(i) for i in chosen]
                out["subset_database_pixel_sums"] = sorted(int(v) for v in images[chosen].astype(np.int64).sum(axis=(1, 2)))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
