#!/usr/bin/env python3
"""The autoencoder input binarisation (ALGORITHMS.md 1.4a) in float32 NumPy, for Tests/BihashDataTests.

BH AutoEncoder: ToTensor (uint8 / 255 in float32), min_max_normalization (t - t.min(); t / t.max()), torch.round
(half to even, as np.round). Constant rows (0/0 in the reference) are reported as None.
Input: {"rows": [[pixel, ...], ...]}  (uint8 values)     Output: {"binary": [[0/1, ...] or None, ...]}
"""
import json
import sys

import numpy as np


def main():
    out = []
    for row in json.load(sys.stdin)["rows"]:
        x = np.asarray(row, dtype=np.uint8).astype(np.float32) / np.float32(255)
        t = x - x.min()
        if t.max() == 0:
            out.append(None)
            continue
        t = t / t.max()
        out.append([int(v) for v in np.round(t)])
    json.dump({"binary": out}, sys.stdout)


if __name__ == "__main__":
    main()
