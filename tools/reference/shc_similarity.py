#!/usr/bin/env python3
"""SHC stage 1 class-similarity matrix S (ALGORITHMS.md §3.1, SHC GenerateSimilarityMatrix.py), recomputed in NumPy.

Reads {"logits": [[...], ...] (N×C), "labels": [y_0, ...]} as JSON on stdin and prints {"S": [[...], ...]} (C×C):
mask own class (−inf), softmax, accumulate into row y, symmetrise, row-normalise (mean includes the zero diagonal),
diagonal 1. Written independently of the Swift code, following the released PyTorch loop.
"""
import json
import sys

import numpy as np


def similarity(logits, labels):
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    c = z.shape[1]
    s = np.zeros((c, c))
    for zi, yi in zip(z, y):
        zi = zi.copy()
        zi[yi] = -np.inf
        e = np.exp(zi - zi.max())
        s[yi] += e / e.sum()
    s = (s + s.T) / 2
    mean = s.mean(axis=1, keepdims=True)
    scale = np.maximum(np.abs(s.max(axis=1, keepdims=True) - mean), np.abs(s.min(axis=1, keepdims=True) - mean))
    s = (s - mean) / scale
    np.fill_diagonal(s, 1.0)
    return s


def main():
    req = json.load(sys.stdin)
    print(json.dumps({"S": similarity(req["logits"], req["labels"]).tolist()}))


if __name__ == "__main__":
    main()
