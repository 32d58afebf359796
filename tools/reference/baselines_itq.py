#!/usr/bin/env python3
"""NumPy reference for ITQ (Gong & Lazebnik, CVPR 2011), independent of the Swift code
(Sources/BihashMethods/Baselines/ITQ.swift).

Reads one JSON object on stdin:
  {"x": [...N*D row-major], "shape": [N, D], "bits": K, "r0": [...K*K row-major], "iterations": T}
Writes one JSON object on stdout, everything in float64, matrices flat row-major:
  mean [D], eigenvalues [K] (descending), projection P [D, K], rotation R [K, K], weight W = (P R)^T [K, D],
  bias b = -mean P R [K], loss [T + 1] (loss[t] = ||sign(V R_t) - V R_t||_F^2, R_t after t updates),
  codes [N*K] in {+1, -1} = sign(x W^T + b) with sign(0) = +1.

The initial rotation R0 comes from the caller, so the result does not depend on any RNG. Eigenvector signs follow
the convention of Linalg.swift: the largest-magnitude component (first on ties) of each eigenvector is positive.
"""
import json
import sys

import numpy as np


def sign(z):
    return np.where(z >= 0, 1.0, -1.0)


def main():
    req = json.load(sys.stdin)
    x = np.asarray(req["x"], dtype=np.float32).astype(np.float64).reshape(req["shape"])
    k = int(req["bits"])
    r = np.asarray(req["r0"], dtype=np.float64).reshape(k, k)
    iterations = int(req["iterations"])
    n = x.shape[0]

    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / n
    w, v = np.linalg.eigh(cov)
    order = np.argsort(-w, kind="stable")[:k]
    eigenvalues, p = w[order], v[:, order]
    idx = np.argmax(np.abs(p), axis=0)
    p = p * np.sign(p[idx, np.arange(k)])

    vpca = xc @ p
    losses = []
    for t in range(iterations + 1):
        z = vpca @ r
        b = sign(z)
        losses.append(float(np.sum((b - z) ** 2)))
        if t == iterations:
            break
        # Authors' code: [UB, sigma, UA] = svd(B' * V); R = UA * UB'.
        ub, _, uat = np.linalg.svd(b.T @ vpca)
        r = uat.T @ ub.T

    pr = p @ r
    weight = pr.T
    bias = -mean @ pr
    codes = sign(x @ weight.T + bias)
    json.dump({
        "mean": mean.tolist(), "eigenvalues": eigenvalues.tolist(), "projection": p.ravel().tolist(),
        "rotation": r.ravel().tolist(), "weight": weight.ravel().tolist(), "bias": bias.tolist(),
        "loss": losses, "codes": codes.ravel().tolist(),
    }, sys.stdout)


if __name__ == "__main__":
    main()
