#!/usr/bin/env python3
"""Reference for SHC's semantic refinement (ALGORITHMS.md §3.3), independent of the Swift code.

Written in the paper's layout: H is K x C (column i = centre h_i), M and Lambda are K x C, S, alpha, Kmat are C x C.
Centres are passed and returned as rows ([C][K]) in JSON.

ops (one JSON object on stdin, one on stdout):
  "derivative": {"s", "h", "lambda", "alpha"}  -> {"m": M^T, "slack": Kmat, "der": [der_i for every i], "objective"}
      at a fixed H (no H update between the der_i): M-step, K-step and the H-step derivative of §3.3.
  "refine":     {"s", "h", "epochs"}           -> {"objectives": [loss1 at start, after each epoch], "h": the H of the
                                                   first smallest objective, "accepted": number of centre updates,
                                                   "min_distance": of that H}
      the refinement with the line search over eta (HashCenters deviation 10): for centre i, the candidates
      sign(h_i - der_i / eta) for every eta > 0, i.e. flip the m entries with the largest h_a * der_a > 0
      (ties by index); take the feasible (every pair >= d) candidate with the smallest loss1, if it is lower by
      more than 1e-12 than the current loss1. Everything is recomputed from scratch (no incremental updates).
  "hadamard":   {"k", "c"}                     -> {"h": first C rows of [H_K; -H_K]} (scipy.linalg.hadamard)
"""
import json
import math
import sys

import numpy as np
from scipy.linalg import hadamard

RHO, MU, BETA, REPULSION, LAMBDA0, INNER = 0.2, 0.625, 1e-6, 1e-4, 0.1, 3


def margin(k, c):
    total = 0
    for d in range(1, k + 2):
        total += math.comb(k, d - 1)
        if c * total >= 2 ** k:
            return d
    raise AssertionError("unreachable")


def loss1(s, h):
    k, c = h.shape
    return float(((s - h.T @ h / k) ** 2).sum() / c ** 2)


def min_distance(h):
    k, c = h.shape
    dist = (k - h.T @ h) / 2
    return dist[np.triu_indices(c, 1)].min()


def m_step(s, h, lam):
    k = h.shape[0]
    return np.linalg.solve(2 / k ** 2 * h @ h.T + RHO * np.eye(k), 2 / k * h @ s + lam + RHO * h)


def k_step(h, alpha, d):
    k = h.shape[0]
    kmat = np.maximum(k - 2 * d - h.T @ h + alpha / BETA, 0)
    np.fill_diagonal(kmat, 0)
    return kmat


def der(s, h, m, lam, alpha, kmat, d, i):
    k, c = h.shape
    out = 2 / k ** 2 * m @ m.T @ h[:, i] - 2 / k * m @ s[:, i] + lam[:, i] + RHO * (h[:, i] - m[:, i])
    rep = np.zeros(k)
    for j in range(c):
        if j != i:
            rep += (2 * MU * h[:, j] - 2 * alpha[i, j] * h[:, j]
                    + BETA * (2 * (h[:, j] @ h[:, j]) * h[:, i] - 2 * (k - 2 * d - kmat[i, j]) * h[:, j]))
    return out + REPULSION * rep


def refine(s, h, epochs):
    k, c = h.shape
    d = margin(k, c)
    lam = np.full((k, c), LAMBDA0)
    alpha = np.zeros((c, c))
    objectives = [loss1(s, h)]
    kept = h.copy()
    accepted = 0
    for _ in range(epochs):
        m = m_step(s, h, lam)
        kmat = k_step(h, alpha, d)
        for _ in range(INNER):
            for i in range(c):
                g = h[:, i] * der(s, h, m, lam, alpha, kmat, d, i)
                order = sorted((a for a in range(k) if g[a] > 0), key=lambda a: (-g[a], a))
                current = loss1(s, h)
                best, best_h = current - 1e-12, None
                for count in range(1, len(order) + 1):
                    trial = h.copy()
                    trial[order[:count], i] *= -1
                    if min_distance(trial) < d:
                        continue
                    value = loss1(s, trial)
                    if value < best:
                        best, best_h = value, trial
                if best_h is not None:
                    h = best_h
                    accepted += 1
        lam = lam + RHO * (h - m)
        residual = k - 2 * d - h.T @ h - kmat
        np.fill_diagonal(residual, 0)
        alpha = alpha + BETA * residual
        objectives.append(loss1(s, h))
        if objectives[-1] < min(objectives[:-1]):
            kept = h.copy()
    return objectives, kept, accepted


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    if op == "derivative":
        s = np.asarray(req["s"], dtype=np.float64)
        h = np.asarray(req["h"], dtype=np.float64).T
        lam = np.asarray(req["lambda"], dtype=np.float64).T
        alpha = np.asarray(req["alpha"], dtype=np.float64)
        k, c = h.shape
        d = margin(k, c)
        m = m_step(s, h, lam)
        kmat = k_step(h, alpha, d)
        ders = [der(s, h, m, lam, alpha, kmat, d, i).tolist() for i in range(c)]
        out = {"m": m.T.tolist(), "slack": kmat.tolist(), "der": ders, "objective": loss1(s, h)}
    elif op == "refine":
        s = np.asarray(req["s"], dtype=np.float64)
        h = np.asarray(req["h"], dtype=np.float64).T
        objectives, h, accepted = refine(s, h, int(req["epochs"]))
        out = {"objectives": objectives, "h": h.T.tolist(), "accepted": accepted,
               "min_distance": int(min_distance(h))}  # h is the best H here
    elif op == "hadamard":
        k, c = int(req["k"]), int(req["c"])
        out = {"h": np.concatenate([hadamard(k), -hadamard(k)])[:c].tolist()}
    else:
        raise SystemExit(f"unknown op {op}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
