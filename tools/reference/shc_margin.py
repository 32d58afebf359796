#!/usr/bin/env python3
"""Reference for SHC stage 2 (ALGORITHMS.md §3.2, §3.3), independent of the Swift code.

ops (one JSON object on stdin, one on stdout):
  "margin":    {"pairs": [[K, C], ...]}         -> {"d": [...]}   d_max of get_margin(K, C): the smallest d with
                                                   sum_{j<d} binom(K, j) >= 2^K / C, in exact integer arithmetic
                                                   (C * sum >= 2^K), following the released loop's condition.
  "objective": {"s": [[...]], "h": [[...]]}     -> {"objective": (1/C^2) * ||S - H H^T / K||_F^2 (H is [C, K]),
                                                    "min_distance": minimum pairwise Hamming distance of H's rows}
"""
import json
import math
import sys

import numpy as np


def margin(k, c):
    total = 0
    for d in range(1, k + 2):
        total += math.comb(k, d - 1)  # sum_{j<d} binom(k, j)
        if c * total >= 2 ** k:
            return d
    raise AssertionError("unreachable")


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    if op == "margin":
        out = {"d": [margin(int(k), int(c)) for k, c in req["pairs"]]}
    elif op == "objective":
        s = np.asarray(req["s"], dtype=np.float64)
        h = np.asarray(req["h"], dtype=np.float64)
        c, k = h.shape
        obj = float(((s - h @ h.T / k) ** 2).sum() / c ** 2)
        dist = (k - h @ h.T) / 2
        iu = np.triu_indices(c, 1)
        out = {"objective": obj, "min_distance": int(dist[iu].min())}
    else:
        raise SystemExit(f"unknown op {op}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
