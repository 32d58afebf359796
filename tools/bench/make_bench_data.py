#!/usr/bin/env python3
"""Writes the benchmark inputs shared by bihash and PyTorch into DIR:
  ae.npy        Fashion-MNIST train images binarised as the autoencoder recipe does (per-image min-max, round)
  feat512.npy   20,000 x 512 Gaussian features (seed 0)
  feat4096.npy  10,000 x 4096 Gaussian features (seed 0)
"""
import gzip
import os
import sys

import numpy as np

out = sys.argv[1]
root = os.environ.get("BIHASH_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
with gzip.open(os.path.join(root, "train-images-idx3-ubyte.gz"), "rb") as f:
    raw = f.read()
images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 784).astype(np.float32)
lo = images.min(axis=1, keepdims=True)
hi = images.max(axis=1, keepdims=True)
binarised = np.round((images - lo) / np.maximum(hi - lo, 1e-12)).astype(np.float32)
np.save(os.path.join(out, "ae.npy"), binarised)
rng = np.random.default_rng(0)
np.save(os.path.join(out, "feat512.npy"), rng.standard_normal((20000, 512), dtype=np.float32))
np.save(os.path.join(out, "feat4096.npy"), rng.standard_normal((10000, 4096), dtype=np.float32))
