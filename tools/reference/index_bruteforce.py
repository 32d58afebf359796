#!/usr/bin/env python3
"""Independent NumPy re-computation of Hamming k-NN and radius search, plus .npy interop for packed codes.

Reads one JSON object on stdin:
  bits      K
  db        database codes, one hex string per row (ceil(K/8) bytes, MSB-first as numpy.packbits)
  ids       database ids (ints)
  queries   query codes, hex strings
  k         neighbours per query
  radius    radius for the radius search
  read_npy  optional path of an .npy written by bihash: returned as hex rows with its dtype and shape
  write_npy optional path: the db codes are re-packed from their unpacked bits with numpy.packbits and saved
Writes one JSON object: knn and within, lists per query of [id, distance] ordered by (distance, id).
"""
import json
import sys

import numpy as np


def unpack(rows, bits):
    packed = np.array([list(bytes.fromhex(r)) for r in rows], dtype=np.uint8).reshape(len(rows), (bits + 7) // 8)
    return np.unpackbits(packed, axis=1)[:, :bits]


def main():
    req = json.load(sys.stdin)
    bits = req["bits"]
    db = unpack(req["db"], bits)
    ids = np.array(req["ids"], dtype=np.uint64)
    queries = unpack(req["queries"], bits)
    k, radius = req["k"], req["radius"]
    knn, within = [], []
    for q in queries:
        dist = np.count_nonzero(db != q, axis=1)
        order = np.lexsort((ids, dist))  # by distance, then id
        knn.append([[int(ids[i]), int(dist[i])] for i in order[:k]])
        within.append([[int(ids[i]), int(dist[i])] for i in order if dist[i] <= radius])
    out = {"knn": knn, "within": within}
    if "read_npy" in req:
        arr = np.load(req["read_npy"])
        out["npy"] = {"dtype": str(arr.dtype), "shape": list(arr.shape), "rows": [bytes(r).hex() for r in arr]}
    if "write_npy" in req:
        np.save(req["write_npy"], np.packbits(db, axis=1))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
