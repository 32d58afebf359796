#!/usr/bin/env python3
"""SHC losses in NumPy (ALGORITHMS.md §3.1 and §3.4), written from the PyTorch formulas, not from the Swift code.

Reads one JSON object on stdin with "op":
  - "center": {"u": N×K, "c": N×K (±1), "lambd": λ} → {"loss", "grad": N×K}
      L = BCELoss(mean)((tanh u + 1)/2, (c + 1)/2) + λ·mean((|tanh u| − 1)²), PyTorch's BCE with log clamped at −100,
      gradient by the chain rule through PyTorch's BCE backward (p − t)/max(p(1 − p), 1e-12).
  - "softmax_ce": {"z": N×C, "y": [N ints]} → {"loss", "grad": N×C}
      L = CrossEntropyLoss(mean) = mean(logsumexp(z) − z[y]), grad = (softmax(z) − onehot)/N.
"""
import json
import sys

import numpy as np


def center(u, c, lambd):
    u = np.asarray(u, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    m = u.size
    h = np.tanh(u)
    p = (h + 1) / 2
    t = (c + 1) / 2
    bce = -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100)).mean()
    quant = ((np.abs(h) - 1) ** 2).mean()
    dp = (p - t) / np.maximum(p * (1 - p), 1e-12) / m
    du_bce = dp * (1 - h ** 2) / 2
    du_quant = lambd * 2 * (np.abs(h) - 1) * np.sign(h) * (1 - h ** 2) / m
    return bce + lambd * quant, du_bce + du_quant


def softmax_ce(z, y):
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    logsum = np.log(np.exp(shifted).sum(axis=1))
    loss = (logsum - shifted[np.arange(n), y]).mean()
    p = np.exp(shifted - logsum[:, None])
    p[np.arange(n), y] -= 1
    return loss, p / n


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    if op == "center":
        loss, grad = center(req["u"], req["c"], req["lambd"])
    elif op == "softmax_ce":
        loss, grad = softmax_ce(req["z"], req["y"])
    else:
        raise SystemExit(f"unknown op {op}")
    print(json.dumps({"loss": float(loss), "grad": grad.tolist()}))


if __name__ == "__main__":
    main()
