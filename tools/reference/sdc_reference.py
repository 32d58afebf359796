#!/usr/bin/env python3
"""NumPy/SciPy reference for SDC (ALGORITHMS.md §2.2), independent of the Swift code.

ops:
  "beta_ppf":   {"a", "b", "p": [...]}                  -> {"x": scipy.stats.beta.ppf(p, a, b)}
  "targets":    {"a", "b", "pairs"}                     -> {"c": 2*ppf((2p-1)/(2P)) - 1}
  "sdc":        {"v": [[...]], "t": [...], "a", "b", "ortho"} -> {"loss", "grad"}  (L_sdc and dL/dv)
  "quant":      {"v": [[...]]}                          -> {"loss", "grad"}  (1 - cos(v, sign v), sign held constant)
Cosine as PyTorch: each norm clamped at eps = 1e-8. Gradients by hand (no autograd), in float64.
"""
import json
import sys

import numpy as np
from scipy.stats import beta as beta_dist

EPS = 1e-8


def cos_and_grads(a, b):
    na = np.maximum(np.linalg.norm(a, axis=1), EPS)
    nb = np.maximum(np.linalg.norm(b, axis=1), EPS)
    c = np.sum((a / na[:, None]) * (b / nb[:, None]), axis=1)
    da = b / (na * nb)[:, None] - c[:, None] * a / (na ** 2)[:, None]
    db = a / (na * nb)[:, None] - c[:, None] * b / (nb ** 2)[:, None]
    return c, da, db


def targets(a, b, pairs, ortho=False):
    p = np.arange(1, pairs + 1)
    c = 2 * beta_dist.ppf((2 * p - 1) / (2 * pairs), a, b) - 1
    return np.maximum(c, 0) if ortho else c


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    out = {}
    if op == "beta_ppf":
        out["x"] = beta_dist.ppf(np.array(req["p"]), req["a"], req["b"]).tolist()
    elif op == "targets":
        out["c"] = targets(req["a"], req["b"], req["pairs"]).tolist()
    elif op == "sdc":
        v = np.array(req["v"], dtype=np.float64)
        t = np.array(req["t"], dtype=np.float64)
        n = v.shape[0] // 2 * 2
        p = n // 2
        s, da, db = cos_and_grads(v[:p], v[p:n])
        order = np.argsort(t, kind="stable")
        c = targets(req["a"], req["b"], p, req.get("ortho", False))
        r = s[order] - c
        out["loss"] = float(np.mean(np.abs(r)))
        gs = np.zeros(p)
        gs[order] = np.sign(r) / p
        grad = np.zeros_like(v)
        grad[:p] = gs[:, None] * da
        grad[p:n] = gs[:, None] * db
        out["grad"] = grad.tolist()
    elif op == "quant":
        v = np.array(req["v"], dtype=np.float64)
        b = np.where(v >= 0, 1.0, -1.0)
        c, dv, _ = cos_and_grads(v, b)
        out["loss"] = float(np.mean(1 - c))
        out["grad"] = (-dv / v.shape[0]).tolist()
    elif op == "ntxent":
        # SimCLR NT-Xent on [v1; v2], tau; cross-entropy summed over the 2N rows / 2N; gradient by hand.
        v = np.concatenate([np.array(req["v1"]), np.array(req["v2"])]).astype(np.float64)
        tau = req["tau"]
        m = v.shape[0]
        n = m // 2
        norms = np.maximum(np.linalg.norm(v, axis=1), 1e-12)
        z = v / norms[:, None]
        s = z @ z.T / tau
        np.fill_diagonal(s, -np.inf)
        pos = (np.arange(m) + n) % m
        mx = s.max(axis=1, keepdims=True)
        soft = np.exp(s - mx)
        soft /= soft.sum(axis=1, keepdims=True)
        out["loss"] = float(np.mean(-np.log(soft[np.arange(m), pos])))
        g = soft.copy()
        g[np.arange(m), pos] -= 1
        g /= m
        dz = (g + g.T) @ z / tau
        dv = (dz - z * np.sum(z * dz, axis=1, keepdims=True)) / norms[:, None]
        out["grad"] = dv.tolist()
    else:
        raise SystemExit(f"unknown op {op}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
