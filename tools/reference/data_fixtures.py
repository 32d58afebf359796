#!/usr/bin/env python3
"""Writes NPY and IDX fixture files with NumPy, gzip and struct for Tests/BihashDataTests, and returns what each holds.

Input (JSON on stdin):  {"dir": "<empty directory to write into>"}
Output (JSON on stdout): {"files": {name: {"dtype", "shape", "values" (flattened; floats as exact float.hex() strings, ints as ints)}},
                          "bad": [names of files every reader must reject]}
"""
import gzip
import json
import os
import struct
import sys

import numpy as np


def main():
    out = json.load(sys.stdin)["dir"]
    rng = np.random.default_rng(7)
    files, bad = {}, []

    def record(name, arr):
        flat = arr.reshape(-1)
        values = [float(v).hex() for v in flat] if arr.dtype.kind == "f" else [int(v) for v in flat]
        files[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape), "values": values}

    def npy(name, arr, version=None):
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            np.lib.format.write_array(f, arr, version=version)
        record(name, arr)

    # --- NPY: every supported dtype and version ---
    npy("f4_v1.npy", rng.standard_normal((5, 3)).astype(np.float32), version=(1, 0))
    npy("f8_v2.npy", rng.standard_normal((4, 6)), version=(2, 0))
    npy("f4_v3.npy", rng.standard_normal((2, 2)).astype(np.float32), version=(3, 0))
    npy("u1.npy", rng.integers(0, 256, (7, 2), dtype=np.uint8))
    npy("i8.npy", rng.integers(-5, 10, (9,), dtype=np.int64))
    npy("i4.npy", rng.integers(0, 10, (6,), dtype=np.int32))
    npy("i2.npy", rng.integers(-300, 300, (3, 2), dtype=np.int16))
    npy("i1.npy", rng.integers(-100, 100, (4,), dtype=np.int8))
    npy("b1.npy", rng.integers(0, 2, (3, 4)).astype(bool))
    npy("f4_be.npy", rng.standard_normal((3, 2)).astype(">f4"))
    npy("f8_be.npy", rng.standard_normal((2, 3)).astype(">f8"))
    npy("f4_3d.npy", rng.standard_normal((2, 3, 4)).astype(np.float32))
    npy("f4_1d.npy", rng.standard_normal((5,)).astype(np.float32))
    npy("f4_empty.npy", np.zeros((0, 4), dtype=np.float32))
    np.save(os.path.join(out, "np_save.npy"), np.arange(12, dtype=np.float32).reshape(3, 4) / 7)
    record("np_save.npy", np.arange(12, dtype=np.float32).reshape(3, 4) / 7)
    # The full name of a dtype in the header of a 1-D Fortran array is still C-compatible (fortran_order False).
    npy("fortran_1d.npy", np.asfortranarray(np.arange(3, dtype=np.float32)))

    # --- NPY files to reject ---
    with open(os.path.join(out, "fortran.npy"), "wb") as f:
        np.lib.format.write_array(f, np.asfortranarray(rng.standard_normal((3, 4)).astype(np.float32)))
    np.save(os.path.join(out, "complex.npy"), np.zeros((2, 2), dtype=np.complex64))
    np.save(os.path.join(out, "strings.npy"), np.array(["ab", "cd"]))
    np.save(os.path.join(out, "structured.npy"), np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    good = open(os.path.join(out, "f4_v1.npy"), "rb").read()
    open(os.path.join(out, "truncated.npy"), "wb").write(good[:-5])
    open(os.path.join(out, "trailing.npy"), "wb").write(good + b"\0\0\0\0")
    open(os.path.join(out, "header_only.npy"), "wb").write(good[:20])
    open(os.path.join(out, "bad_magic.npy"), "wb").write(b"\x93NUMPX" + good[6:])
    open(os.path.join(out, "bad_version.npy"), "wb").write(good[:6] + b"\x04\x00" + good[8:])
    # A header that claims 10^12 x 10^6 floats in a tiny file: must be rejected before any allocation.
    header = good[10:good.index(b"\n", 10) + 1].decode("latin1")
    lying = header.replace("(5, 3)", "(1000000000000, 1000000)")
    lying = lying[:-1].rstrip(" ")
    lying += " " * (len(header) - 1 - len(lying)) + "\n"
    assert len(lying) == len(header), (lying, header)
    open(os.path.join(out, "lying_shape.npy"), "wb").write(good[:10] + lying.encode("latin1") + good[10 + len(header):])
    overflow = header.replace("(5, 3)", "(9223372036854775807, 9)")
    overflow = overflow[:-1].rstrip(" ")
    overflow += " " * (len(header) - 1 - len(overflow)) + "\n"
    open(os.path.join(out, "overflow_shape.npy"), "wb").write(good[:10] + overflow.encode("latin1") + good[10 + len(header):])
    bad += ["fortran.npy", "complex.npy", "strings.npy", "structured.npy", "truncated.npy", "trailing.npy",
            "header_only.npy", "bad_magic.npy", "bad_version.npy", "lying_shape.npy", "overflow_shape.npy"]

    # --- IDX (gzip + struct, as the MNIST files are made) ---
    def idx_bytes(arr, code):
        be = arr.astype(arr.dtype.newbyteorder(">"))
        return struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + be.tobytes()

    def idx(name, arr, code, gz=True):
        data = idx_bytes(arr, code)
        path = os.path.join(out, name)
        if gz:
            with gzip.open(path, "wb") as f:
                f.write(data)
        else:
            open(path, "wb").write(data)
        record(name, arr)
        return data

    images = rng.integers(0, 256, (3, 4, 5), dtype=np.uint8)
    image_data = idx("images-idx3-ubyte.gz", images, 0x08)
    idx("labels-idx1-ubyte.gz", rng.integers(0, 10, (3,), dtype=np.uint8), 0x08)
    idx("plain-idx2-ubyte", rng.integers(0, 256, (2, 3), dtype=np.uint8), 0x08, gz=False)
    idx("i1.idx", rng.integers(-100, 100, (4,), dtype=np.int8), 0x09, gz=False)
    idx("i2.idx.gz", rng.integers(-3000, 3000, (2, 2), dtype=np.int16), 0x0B)
    idx("i4.idx", rng.integers(-10**6, 10**6, (2, 3), dtype=np.int32), 0x0C, gz=False)
    idx("f4.idx.gz", rng.standard_normal((3, 2)).astype(np.float32), 0x0D)
    idx("f8.idx", rng.standard_normal((2, 2)), 0x0E, gz=False)

    # --- IDX files to reject ---
    with gzip.open(os.path.join(out, "truncated-idx3-ubyte.gz"), "wb") as f:
        f.write(image_data[:-7])
    with gzip.open(os.path.join(out, "trailing-idx3-ubyte.gz"), "wb") as f:
        f.write(image_data + b"\x01")
    with gzip.open(os.path.join(out, "header-cut-idx3-ubyte.gz"), "wb") as f:
        f.write(image_data[:9])
    open(os.path.join(out, "truncated-plain.idx"), "wb").write(image_data[:-1])
    with gzip.open(os.path.join(out, "bad-magic.idx.gz"), "wb") as f:
        f.write(b"\x01\x00" + image_data[2:])
    with gzip.open(os.path.join(out, "bad-dtype.idx.gz"), "wb") as f:
        f.write(b"\x00\x00\x07" + image_data[3:])
    with gzip.open(os.path.join(out, "zero-dims.idx.gz"), "wb") as f:
        f.write(b"\x00\x00\x08\x00")
    with gzip.open(os.path.join(out, "huge-dims.idx.gz"), "wb") as f:
        f.write(struct.pack(">BBBBIII", 0, 0, 0x08, 3, 60000, 60000, 60000) + b"\0" * 10)
    compressed = gzip.compress(image_data)
    open(os.path.join(out, "cut-stream-idx3-ubyte.gz"), "wb").write(compressed[:len(compressed) // 2])
    corrupt = bytearray(compressed)
    for i in range(20, min(len(corrupt) - 8, 60)):
        corrupt[i] ^= 0x5A
    open(os.path.join(out, "corrupt-idx3-ubyte.gz"), "wb").write(bytes(corrupt))
    bad += ["truncated-idx3-ubyte.gz", "trailing-idx3-ubyte.gz", "header-cut-idx3-ubyte.gz", "truncated-plain.idx",
            "bad-magic.idx.gz", "bad-dtype.idx.gz", "zero-dims.idx.gz", "huge-dims.idx.gz",
            "cut-stream-idx3-ubyte.gz", "corrupt-idx3-ubyte.gz"]

    json.dump({"files": files, "bad": bad}, sys.stdout)


if __name__ == "__main__":
    main()
