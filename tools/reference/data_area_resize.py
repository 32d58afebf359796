#!/usr/bin/env python3
"""NumPy re-computation of bihash's image-to-row conversion (ImageDecoder.inputRow, DESIGN.md):
composite alpha on white, convert channels (luma 0.299 R + 0.587 G + 0.114 B, or RGB with grey replicated),
area resize (output pixel t covers the source interval [t*S/T, (t+1)*S/T); weights = overlap / (S/T)),
then / 255 clamped to [0, 1]. Computed in float64 as dense matrices R_y @ img @ R_x^T.

Input:  {"cases": [{"width": w, "height": h, "channels": c, "pixels": [...uint8, row-major, channel-last],
                    "to_width": W, "to_height": H, "to_channels": C}, ...]}
Output: {"rows": [[...W*H*C floats...], ...]}
"""
import json
import sys

import numpy as np


def area_matrix(source, target):
    scale = source / target
    lo = np.arange(target)[:, None] * scale
    hi = lo + scale
    x = np.arange(source)[None, :]
    overlap = np.clip(np.minimum(x + 1, hi) - np.maximum(x, lo), 0, None)
    return overlap / scale


def convert(case):
    w, h, c = case["width"], case["height"], case["channels"]
    img = np.asarray(case["pixels"], dtype=np.float64).reshape(h, w, c)
    if c in (2, 4):
        a = img[:, :, -1:] / 255.0
        img = img[:, :, :-1] * a + 255.0 * (1 - a)
    if img.shape[2] == 1:
        rgb = np.repeat(img, 3, axis=2)
    else:
        rgb = img
    if case["to_channels"] == 1:
        plane = img[:, :, :1] if img.shape[2] == 1 else (0.299 * rgb[:, :, :1] + 0.587 * rgb[:, :, 1:2] + 0.114 * rgb[:, :, 2:3])
    else:
        plane = rgb
    ry = area_matrix(h, case["to_height"])
    rx = area_matrix(w, case["to_width"])
    out = np.einsum("yh,hwc,xw->yxc", ry, plane, rx)
    return np.clip(out / 255.0, 0, 1).reshape(-1).tolist()


def main():
    cfg = json.load(sys.stdin)
    json.dump({"rows": [convert(case) for case in cfg["cases"]]}, sys.stdout)


if __name__ == "__main__":
    main()
