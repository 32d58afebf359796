#!/usr/bin/env python3
"""NumPy reference for bihash's LAPACK wrappers (Sources/BihashCore/Linalg.swift).

Reads one JSON object on stdin, writes one on stdout:
  {"op": "eigh",  "a": [...], "shape": [n, n]}          -> {"values": [...descending], "vectors": [...n*n]}
  {"op": "svd",   "a": [...], "shape": [m, n]}          -> {"u": [...m*r], "s": [...r], "vt": [...r*n]}
  {"op": "solve", "a": [...], "shape": [n, n], "b": [...], "b_shape": [n] or [n, m]} -> {"x": [...]}
Matrices are flat row-major lists, computed in float64.

Sign convention (the same as Linalg.swift): each eigenvector / left singular vector is flipped so that its
largest-magnitude component (the first one on ties) is positive; the matching right singular vector flips with it.
"""
import json
import sys

import numpy as np


def sign_fix_columns(m):
    """Signs (+1/-1) that make the first largest-|x| entry of each column of m positive."""
    idx = np.argmax(np.abs(m), axis=0)
    signs = np.sign(m[idx, np.arange(m.shape[1])])
    signs[signs == 0] = 1
    return signs


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    a = np.asarray(req["a"], dtype=np.float64).reshape(req["shape"])
    if op == "eigh":
        w, v = np.linalg.eigh(a)
        order = np.argsort(-w, kind="stable")  # descending
        w, v = w[order], v[:, order]
        v = v * sign_fix_columns(v)
        out = {"values": w.tolist(), "vectors": v.ravel().tolist()}
    elif op == "svd":
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        signs = sign_fix_columns(u)
        u = u * signs
        vt = vt * signs[:, None]
        out = {"u": u.ravel().tolist(), "s": s.tolist(), "vt": vt.ravel().tolist()}
    elif op == "solve":
        b = np.asarray(req["b"], dtype=np.float64).reshape(req["b_shape"])
        out = {"x": np.linalg.solve(a, b).ravel().tolist()}
    else:
        raise SystemExit(f"unknown op {op!r}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
