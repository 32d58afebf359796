#!/usr/bin/env python3
"""Seed inputs for the fuzz targets whose formats bihash only reads: PNG and JPEG images (Pillow), IDX files
(plain and gzip) and plain safetensors files of every dtype (the `safetensors` package). The bihash formats
(models, codes, index, .npy) are written by the fuzz targets themselves (`BIHASH_FUZZ_SEEDS=dir fuzz-X`).

    python3 tools/fuzz/make_seeds.py OUT_DIR      writes OUT_DIR/{image,idx,safetensors}/...
"""
import gzip
import io
import os
import struct
import sys

import numpy as np
from PIL import Image
from safetensors.numpy import save as save_safetensors


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def image_seeds(out):
    rng = np.random.default_rng(9)
    d = os.path.join(out, "image")

    def png(img, name, **kw):
        b = io.BytesIO()
        img.save(b, format="PNG", **kw)
        write(d, name, b.getvalue())

    def jpeg(img, name, **kw):
        b = io.BytesIO()
        img.save(b, format="JPEG", **kw)
        write(d, name, b.getvalue())

    gray = Image.fromarray(rng.integers(0, 256, (7, 5), dtype=np.uint8), "L")
    rgb = Image.fromarray(rng.integers(0, 256, (6, 9, 3), dtype=np.uint8), "RGB")
    rgba = Image.fromarray(rng.integers(0, 256, (4, 4, 4), dtype=np.uint8), "RGBA")
    la = Image.fromarray(rng.integers(0, 256, (3, 5, 2), dtype=np.uint8), "LA")
    png(gray, "gray.png")
    png(rgb, "rgb.png")
    png(rgba, "rgba.png")
    png(la, "gray-alpha.png")
    png(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=4), "palette.png")
    png(gray.convert("1"), "bilevel.png")
    png(Image.fromarray(rng.integers(0, 65536, (5, 3)).astype(np.uint16)), "gray16.png")
    jpeg(gray, "gray.jpg", quality=80)
    jpeg(rgb, "rgb.jpg", quality=90)
    jpeg(rgb, "rgb-420.jpg", quality=50, subsampling=2)
    jpeg(Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), "RGB"), "progressive.jpg",
         quality=75, progressive=True)
    jpeg(rgb.convert("CMYK"), "cmyk.jpg", quality=85)


def idx_seeds(out):
    d = os.path.join(out, "idx")

    def idx(array, code):
        header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
        return header + array.astype(array.dtype.newbyteorder(">")).tobytes()

    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (3, 4, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, (3,), dtype=np.uint8)
    write(d, "images-u8.idx", idx(images, 0x08))
    write(d, "labels-u8.idx", idx(labels, 0x08))
    write(d, "images-u8.idx.gz", gzip.compress(idx(images, 0x08), mtime=0))
    write(d, "labels-u8.idx.gz", gzip.compress(idx(labels, 0x08), mtime=0))
    write(d, "i8.idx", idx(rng.integers(-128, 128, (2, 3), dtype=np.int8), 0x09))
    write(d, "i16.idx", idx(rng.integers(-999, 999, (2, 2), dtype=np.int16), 0x0B))
    write(d, "i32.idx", idx(rng.integers(-99999, 99999, (4,), dtype=np.int32), 0x0C))
    write(d, "f32.idx", idx(rng.standard_normal((2, 3)).astype(np.float32), 0x0D))
    write(d, "f64.idx.gz", gzip.compress(idx(rng.standard_normal((3, 1)), 0x0E), mtime=0))


def safetensors_seeds(out):
    d = os.path.join(out, "safetensors")
    rng = np.random.default_rng(5)
    tensors = {
        "f32": rng.standard_normal((2, 3)).astype(np.float32),
        "f64": rng.standard_normal((2,)).astype(np.float64),
        "f16": rng.standard_normal((3,)).astype(np.float16),
        "i64": np.arange(3, dtype=np.int64),
        "i32": np.arange(2, dtype=np.int32),
        "i16": np.arange(2, dtype=np.int16),
        "u8": np.arange(4, dtype=np.uint8),
        "i8": np.arange(1, dtype=np.int8),
        "bool": np.array([True, False]),
        "scalar": np.array(1.5, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    write(d, "all-dtypes.safetensors", save_safetensors(tensors, metadata={"k": "v", "bihash.bits": "8"}))
    write(d, "one-tensor.safetensors", save_safetensors({"w": np.ones((4, 2), dtype=np.float32)}))
    write(d, "empty.safetensors", save_safetensors({}))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    image_seeds(out)
    idx_seeds(out)
    safetensors_seeds(out)
    for sub in ("image", "idx", "safetensors"):
        print(f"{sub}: {len(os.listdir(os.path.join(out, sub)))} seeds")


if __name__ == "__main__":
    main()
