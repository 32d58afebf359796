#!/usr/bin/env python3
"""Opens bihash's safetensors files with the reference `safetensors` package (pip), for Tests/BihashIOTests.

Input:  {"files": [paths to open], "resave": [paths whose bytes `safetensors.numpy.save` must reproduce],
         "corrupt": [paths the package must refuse]}
Output: {"files": [{"metadata": {...}, "keys": [...], "tensors": {name: {"dtype", "shape", "sum"}}}],
         "resave_identical": [bool per resave path], "corrupt_rejected": [bool per corrupt path],
         "version": safetensors.__version__}
"""
import json
import sys

import numpy as np
import safetensors
from safetensors import safe_open
from safetensors.numpy import load_file, save


def main():
    request = json.load(sys.stdin)
    files = []
    for path in request.get("files", []):
        arrays = load_file(path)
        with safe_open(path, framework="numpy") as f:
            metadata = f.metadata() or {}
            keys = list(f.keys())
            for k in keys:
                assert np.array_equal(f.get_tensor(k), arrays[k])
        files.append({
            "metadata": metadata,
            "keys": keys,
            "tensors": {k: {"dtype": str(v.dtype), "shape": list(v.shape), "sum": float(v.astype(np.float64).sum())}
                        for k, v in arrays.items()},
        })
    identical = []
    for path in request.get("resave", []):
        with safe_open(path, framework="numpy") as f:
            metadata = f.metadata()
        identical.append(save(load_file(path), metadata=metadata) == open(path, "rb").read())
    rejected = []
    for path in request.get("corrupt", []):
        try:
            load_file(path)
            rejected.append(False)
        except Exception:
            rejected.append(True)
    json.dump({"files": files, "resave_identical": identical, "corrupt_rejected": rejected,
               "version": safetensors.__version__}, sys.stdout)


if __name__ == "__main__":
    main()
