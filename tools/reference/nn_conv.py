#!/usr/bin/env python3
"""NumPy re-computation of BihashNN's inference convolutions (Sources/BihashNN/Conv), in float64 (no torch).

Reads one JSON object on stdin, writes one JSON object on stdout. Tensors are flat lists plus shapes; images
are channel-last, x[N, H, W, C]; weights use PyTorch's order, w[Cout, Cin, k, k] (depthwise: w[C, 1, k, k]).
Written from the definitions (TensorFlow's "SAME" padding, cross-correlation as in PyTorch's Conv2d),
independently of the Swift code.

ops:
  same_padding    cases: [[input, kernel, stride], ...]                  -> padding: [[output, before, after], ...]
  conv2d          x, x_shape, w, w_shape, bias|null, stride, activation ("identity"|"relu6"),
                  residual|null (output-shaped)                          -> y, y_shape
  depthwise       x, x_shape, w, w_shape, bias|null, stride, activation   -> y, y_shape
  conv2d_bn       x, x_shape, w, w_shape, stride, gamma, beta, mean, var, eps, activation
                  (convolution without bias, then inference BatchNorm)   -> y, y_shape
  global_avg_pool x, x_shape                                              -> y, y_shape
"""
import json
import sys

import numpy as np


def same_padding(n, k, s):
    """TF "SAME": out = ceil(n / s); total = max((out - 1)·s + k - n, 0); the smaller half goes first."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def pad_same(x, k, s):
    _, h, w, _ = x.shape
    oh, top, bottom = same_padding(h, k, s)
    ow, left, right = same_padding(w, k, s)
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0))), oh, ow


def windows(xp, k, s, oh, ow):
    """Yields (ky, kx, x tap) where tap[n, oy, ox, c] = xp[n, oy·s + ky, ox·s + kx, c]."""
    for ky in range(k):
        for kx in range(k):
            yield ky, kx, xp[:, ky:ky + s * (oh - 1) + 1:s, kx:kx + s * (ow - 1) + 1:s, :]


def conv2d(x, w, s):
    k = w.shape[2]
    xp, oh, ow = pad_same(x, k, s)
    y = np.zeros((x.shape[0], oh, ow, w.shape[0]))
    for ky, kx, tap in windows(xp, k, s, oh, ow):
        y += tap @ w[:, :, ky, kx].T
    return y


def depthwise(x, w, s):
    k = w.shape[2]
    xp, oh, ow = pad_same(x, k, s)
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for ky, kx, tap in windows(xp, k, s, oh, ow):
        y += tap * w[:, 0, ky, kx]
    return y


def activate(y, name):
    if name == "relu6":
        return np.clip(y, 0.0, 6.0)
    assert name == "identity", name
    return y


def arr(d, key):
    return np.asarray(d[key], dtype=np.float64).reshape(d[key + "_shape"])


def vec(d, key):
    return None if d.get(key) is None else np.asarray(d[key], dtype=np.float64)


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    if op == "same_padding":
        json.dump({"padding": [list(same_padding(*c)) for c in req["cases"]]}, sys.stdout)
        return
    x = arr(req, "x")
    if op == "conv2d" or op == "depthwise":
        w = arr(req, "w")
        y = conv2d(x, w, req["stride"]) if op == "conv2d" else depthwise(x, w, req["stride"])
        if vec(req, "bias") is not None:
            y = y + vec(req, "bias")
        if req.get("residual") is not None:
            y = y + np.asarray(req["residual"], dtype=np.float64).reshape(y.shape)
        y = activate(y, req["activation"])
    elif op == "conv2d_bn":
        z = conv2d(x, arr(req, "w"), req["stride"])
        z = (z - vec(req, "mean")) / np.sqrt(vec(req, "var") + req["eps"]) * vec(req, "gamma") + vec(req, "beta")
        y = activate(z, req["activation"])
    elif op == "global_avg_pool":
        y = x.mean(axis=(1, 2))
    else:
        raise SystemExit(f"unknown op {op}")
    json.dump({"y": y.ravel().tolist(), "y_shape": list(y.shape)}, sys.stdout)


if __name__ == "__main__":
    main()
