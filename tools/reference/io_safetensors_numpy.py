#!/usr/bin/env python3
"""Reads a bihash model file (safetensors) with NumPy only and recomputes its codes (README "Export").

Input:  {"model": path, "features": path of raw little-endian float32 [rows, cols], "rows": n, "cols": d}
Output: {"codes": hex of the packed codes (n rows of ceil(K/8) bytes, numpy.packbits order),
         "presign": hex of U as little-endian float32 [n, K] (computed in float64, then rounded),
         "fingerprint": SHA-256 recomputed as ModelFile.fingerprint documents, "metadata": {...},
         "header_length": N, "header_padding_ok": bool, "order": tensor names in data order,
         "tensors": {name: {"dtype", "shape"}}}
Nothing here uses the `safetensors` package or bihash: the layout is parsed by hand.
"""
import hashlib
import json
import math
import struct
import sys

import numpy as np


# ---- The ~20-line recipe (README "Export"): parse the file, rebuild the arrays, apply the layers, pack the signs.
def load_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])                      # u64 LE header length
    header = json.loads(raw[8:8 + n])                       # JSON header (space-padded)
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]                                      # offsets are relative to the data buffer
    tensors = {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], "<f4").reshape(v["shape"])
               for k, v in header.items()}
    return tensors, meta


def encode(tensors, meta, x):
    x = x.astype(np.float32)
    if json.loads(meta["bihash.input"])["preprocess"] == "minmax-round":   # per row, float32, half-to-even
        lo, hi = x.min(1, keepdims=True), x.max(1, keepdims=True)
        x = np.round((x - lo) / np.where(hi - lo > 0, hi - lo, np.float32(1)))
    h = x.astype(np.float64)
    for layer in json.loads(meta["bihash.arch"]):
        t, p = layer["type"], layer.get("name", "") + "."
        if t == "linear": h = h @ tensors[p + "weight"].T + tensors[p + "bias"]
        elif t == "relu": h = np.maximum(h, 0)
        elif t == "gelu": h = 0.5 * h * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))
        elif t == "tanh": h = np.tanh(h)
        elif t == "sigmoid": h = 1 / (1 + np.exp(-h))
        elif t == "batchnorm1d":
            h = (h - tensors[p + "running_mean"]) / np.sqrt(tensors[p + "running_var"] + layer["eps"]) \
                * tensors[p + "weight"] + tensors[p + "bias"]
        elif t != "dropout": raise ValueError("unknown layer type " + t)
    return np.packbits(h >= 0, axis=1), h                  # bit k -> bit 7 - k%8 of byte k//8; sign(0) = +1
# ---- end of the recipe.


def fingerprint(tensors, meta):
    h = hashlib.sha256(("bihash-fingerprint-v1\nbits=%s\ninput=%s\narch=%s\n"
                        % (meta["bihash.bits"], meta["bihash.input"], meta["bihash.arch"])).encode())
    for name in sorted(tensors, key=lambda s: s.encode()):
        t = tensors[name]
        h.update(("%s\n%s\n" % (name, ",".join(str(d) for d in t.shape))).encode())
        h.update(np.ascontiguousarray(t, "<f4").tobytes())
    return h.hexdigest()


def main():
    request = json.load(sys.stdin)
    tensors, meta = load_safetensors(request["model"])
    raw = open(request["model"], "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header_text = raw[8:8 + n].decode("utf-8")
    header = json.loads(header_text)
    header.pop("__metadata__", None)
    order = sorted(header, key=lambda k: tuple(header[k]["data_offsets"]))
    x = np.fromfile(request["features"], dtype="<f4").reshape(request["rows"], request["cols"])
    codes, u = encode(tensors, meta, x)
    json.dump({
        "codes": codes.tobytes().hex(),
        "presign": u.astype("<f4").tobytes().hex(),
        "fingerprint": fingerprint(tensors, meta),
        "metadata": meta,
        "header_length": n,
        "header_padding_ok": n % 8 == 0 and n - len(header_text.rstrip(" ").encode()) < 8,
        "order": order,
        "tensors": {k: {"dtype": v["dtype"], "shape": v["shape"]} for k, v in header.items()},
    }, sys.stdout)


if __name__ == "__main__":
    main()
