#!/usr/bin/env python3
"""Reads NPY files (written by bihash) with NumPy and reports what NumPy sees, for Tests/BihashDataTests.

Input:  {"paths": [...]}
Output: {"arrays": [{"version": [major, minor], "dtype": "<f4", "shape": [...], "fortran_order": false,
                     "values": [flattened; floats as float.hex() strings]}]}
"""
import json
import sys

import numpy as np


def main():
    result = []
    for path in json.load(sys.stdin)["paths"]:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        arr = np.load(path, allow_pickle=False)
        flat = arr.reshape(-1)
        values = [float(v).hex() for v in flat] if arr.dtype.kind == "f" else [int(v) for v in flat]
        result.append({"version": list(version), "dtype": dtype.str, "shape": list(shape),
                       "fortran_order": bool(fortran), "values": values})
    json.dump({"arrays": result}, sys.stdout)


if __name__ == "__main__":
    main()
