#!/usr/bin/env python3
"""NumPy re-implementation of bihash's retrieval metrics (BihashEval), for the tests in Tests/BihashEvalTests.

Reads one JSON object on stdin and writes one JSON object on stdout. Written from the conventions documented in
Sources/BihashEval/RetrievalEvaluator.swift (ALGORITHMS.md 1.5 and 4.8), independently of the Swift code:
Hamming distance from the +-1 dot product, 0.5 * (K - q.b), as the BH repository computes it, and the ranking by
np.argsort(kind="stable"), i.e. ties broken by database index.

Input:
  bits                      K
  query_codes, db_codes     packed codes, one list of ceil(K/8) bytes per code (MSB first, numpy.packbits)
  query_labels, db_labels   single labels (list of ints), or
  query_sets, db_sets       multi-label sets (list of lists of class ids; relevance = multi-hot dot product > 0)
  map_cutoffs               R values of mAP@R
  precision_cutoffs         N values of P@N (clamped to the database size)
  radii                     Hamming radii of "precision within radius"
  rank_queries              query indices whose full rankings are returned
Output: per-query and mean values of every metric, the pooled PR curve, rankings.
"""
import json
import sys

import numpy as np


def unpack(codes, bits):
    a = np.asarray(codes, dtype=np.uint8).reshape(len(codes), -1)
    return np.unpackbits(a, axis=1)[:, :bits].astype(np.float64) * 2.0 - 1.0


def multi_hot(sets):
    classes = 1 + max([c for s in sets for c in s], default=0)
    m = np.zeros((len(sets), classes), dtype=np.float64)
    for i, s in enumerate(sets):
        m[i, list(s)] = 1.0
    return m


def main():
    cfg = json.load(sys.stdin)
    bits = int(cfg["bits"])
    qb = unpack(cfg["query_codes"], bits)
    db = unpack(cfg["db_codes"], bits)
    hamm = 0.5 * (bits - qb @ db.T)
    hamm = np.rint(hamm).astype(np.int64)
    if "query_sets" in cfg:
        ql, dl = multi_hot(cfg["query_sets"]), multi_hot(cfg["db_sets"])
        width = max(ql.shape[1], dl.shape[1])
        ql = np.pad(ql, ((0, 0), (0, width - ql.shape[1])))
        dl = np.pad(dl, ((0, 0), (0, width - dl.shape[1])))
        rel = (ql @ dl.T) > 0
    else:
        rel = np.asarray(cfg["query_labels"])[:, None] == np.asarray(cfg["db_labels"])[None, :]
    rel = rel.astype(np.int64)
    nq, n = hamm.shape
    map_cutoffs = cfg.get("map_cutoffs", [])
    prec_cutoffs = cfg.get("precision_cutoffs", [])
    radii = cfg.get("radii", [])

    ap_all, ap_at, p_at, p_rad, relevant = [], [[] for _ in map_cutoffs], [[] for _ in prec_cutoffs], [[] for _ in radii], []
    for i in range(nq):
        ind = np.argsort(hamm[i], kind="stable")
        g = rel[i][ind]

        def ap(top):
            t = g[:top]
            hits = t.sum()
            if hits == 0:
                return 0.0
            p = np.cumsum(t) / np.arange(1, len(t) + 1)
            return float(np.sum(p * t) / hits)

        ap_all.append(ap(n))
        for c, r in enumerate(map_cutoffs):
            ap_at[c].append(ap(r))
        for c, top in enumerate(prec_cutoffs):
            m = min(top, n)
            p_at[c].append(float(g[:m].sum() / m))
        for c, r in enumerate(radii):
            within = hamm[i] <= r
            cnt = within.sum()
            p_rad[c].append(0.0 if cnt == 0 else float(rel[i][within].sum() / cnt))
        relevant.append(int(rel[i].sum()))

    total_good = rel.sum()
    pr_p, pr_r = [], []
    for r in range(bits + 1):
        within = hamm <= r
        retrieved = within.sum()
        good = rel[within].sum()
        pr_p.append(0.0 if retrieved == 0 else float(good / retrieved))
        pr_r.append(0.0 if total_good == 0 else float(good / total_good))

    rankings = {str(q): [int(j) for j in np.argsort(hamm[q], kind="stable")] for q in cfg.get("rank_queries", [])}
    json.dump({
        "ap_all": ap_all, "map_all": float(np.mean(ap_all)),
        "ap_at": ap_at, "map_at": [float(np.mean(v)) for v in ap_at],
        "p_at_per_query": p_at, "p_at": [float(np.mean(v)) for v in p_at],
        "p_radius_per_query": p_rad, "p_radius": [float(np.mean(v)) for v in p_rad],
        "pr_precision": pr_p, "pr_recall": pr_r,
        "relevant": relevant, "rankings": rankings,
    }, sys.stdout)


if __name__ == "__main__":
    main()
