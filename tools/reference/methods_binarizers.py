#!/usr/bin/env python3
"""NumPy reference for bihash's binarizers (ALGORITHMS.md §1.1-1.4), independent of the Swift code.

Reads JSON on stdin: {"op": "bihalf"|"sign"|"signreg"|"greedy_penalty", "u": [[...]], "g": [[...]], "gamma": float}
Writes JSON on stdout with the forward output "b" (and "value" for penalties) and the backward "du".
"""
import json
import sys

import numpy as np


def bihalf_forward(u):
    n, k = u.shape
    b = -np.ones_like(u)
    for j in range(k):
        # Stable descending order: sort by (-value, row index); the first floor(N/2) rows get +1.
        order = np.lexsort((np.arange(n), -u[:, j]))
        b[order[: n // 2], j] = 1.0
    return b


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    u = np.array(req["u"], dtype=np.float64)
    g = np.array(req.get("g", np.zeros_like(u)), dtype=np.float64)
    gamma = float(req.get("gamma", 0.0))
    n, k = u.shape
    out = {}
    if op == "bihalf":
        b = bihalf_forward(u)
        out["b"] = b.tolist()
        out["du"] = (g + gamma * (u - b) / (n * k)).tolist()
    elif op == "sign":
        b = np.where(u >= 0, 1.0, -1.0)
        out["b"] = b.tolist()
        out["du"] = (g + gamma * (u - b) / (n * k)).tolist()
    elif op == "signreg":
        # L_reg = 1/2 * mean_k (mean_i B_ik)^2 on the codes; gradient w.r.t. B.
        b = np.where(u >= 0, 1.0, -1.0)
        m = b.mean(axis=0)
        out["value"] = float(0.5 * np.mean(m ** 2))
        out["du"] = np.broadcast_to(m / (n * k), b.shape).tolist()
    elif op == "greedy_penalty":
        d = np.abs(u) - 1.0
        out["value"] = float(np.mean(np.abs(d) ** 3))
        out["du"] = (3.0 * d * np.abs(d) * np.sign(u) / u.size).tolist()
    else:
        raise SystemExit(f"unknown op {op}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
