#!/usr/bin/env python3
"""Writes a small image folder with Pillow and re-computes, with NumPy, the rows bihash must load from it
(ImageFolder.loadDataset / bihash_data_load_images): class subdirectories in name order = labels, files in name
order, each image converted as in data_area_resize.py.

Input:  {"dir": path (created), "layout": "classes" | "flat", "size": S, "channels": C}
Output: {"paths": [...], "labels": [...] (classes layout only), "rows": [[...]]}
"""
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data_area_resize import convert  # noqa: E402


def main():
    cfg = json.load(sys.stdin)
    root = cfg["dir"]
    rng = np.random.default_rng(1)
    # (class, file name, height, width, channels): grey, RGB, RGBA; PNG only (lossless, so decoders agree exactly).
    files = [("b_dog", "x1.png", 30, 20, 3), ("b_dog", "a0.png", 16, 16, 1), ("a_cat", "z.png", 9, 40, 4),
             ("a_cat", "m.png", 28, 28, 1), ("c_owl", "only.png", 50, 50, 3)]
    expected = []
    for cls, name, h, w, c in files:
        d = os.path.join(root, cls) if cfg["layout"] == "classes" else root
        os.makedirs(d, exist_ok=True)
        arr = rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)
        path = os.path.join(d, name if cfg["layout"] == "classes" else f"{cls}_{name}")
        Image.fromarray(arr[:, :, 0] if c == 1 else arr).save(path)
        expected.append((cls, os.path.basename(path), path, arr))
    if cfg["layout"] == "classes":
        expected.sort(key=lambda e: (e[0].encode(), e[1].encode()))
    else:
        expected.sort(key=lambda e: e[1].encode())
    classes = sorted({e[0] for e in expected})
    out = {"paths": [e[2] for e in expected], "rows": []}
    if cfg["layout"] == "classes":
        out["labels"] = [classes.index(e[0]) for e in expected]
    for _, _, _, arr in expected:
        h, w, c = arr.shape
        out["rows"].append(convert({"width": w, "height": h, "channels": c, "pixels": arr.reshape(-1).tolist(),
                                    "to_width": cfg["size"], "to_height": cfg["size"], "to_channels": cfg["channels"]}))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
