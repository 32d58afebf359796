#!/usr/bin/env python3
"""Reference EfficientNet-Lite0 backbone: an ONNX graph built with onnx.helper from a bihash backbone file, run by
onnxruntime (pip). Independent of bihash's Swift backbone and of its ONNX export.

Graph (NCHW, input `image` float32 [N, 3, H, W] in [−1, 1]; H, W fixed per graph, N dynamic):
stem Pad(TF SAME) → Conv 3×3/2 → BatchNormalization(eps 1e-3) → Clip(0, 6); 16 blocks: [Conv 1×1 → BN → Clip]
(expand ratio 6 only) → Pad(SAME) → depthwise Conv k×k/s → BN → Clip → Conv 1×1 → BN → [Add input when stride 1
and channels in == out]; head Conv 1×1 → BN → Clip → GlobalAveragePool → Flatten = `features` [N, 1280];
Gemm with `_fc` = `logits` [N, 1000]. TF SAME padding: total = max((ceil(L/s) − 1)·s + k − L, 0) per side length L,
begin = total // 2, the extra pixel at the end (bottom/right). BatchNorm is left unfused in the file (onnxruntime,
run with its default graph optimisations, fuses BN, Pad and Clip into the convolutions when it loads the session).
The .onnx is cached in ${BIHASH_CACHE_DIR:-<temp dir>/bihash-reference-cache}, keyed by the weights' sha256, the
input size and this script's sha256.

Input (one of):
 a) {"weights": path, "input_npy": float32 [N, S, S, 3] (NHWC, already in [−1, 1]), "features_npy": out path,
     "logits_npy": optional out path}
    → writes the NPY files (float32 [N, 1280], [N, 1000]); prints {"ok": true, "n": N}
 b) {"weights": path, "images": [paths], "size": S, optional "features_npy", "logits_npy", "input_npy_out"}
    → decodes each image with PIL (EXIF orientation ignored), composites alpha on white, RGB (gray replicated),
      resizes to S×S with the area filter below, v = value / 255 clamped to [0, 1], x = 2v − 1, runs the graph;
      prints {"top1": [class per image], "top5": [[5 classes, best first]], "features_l2": [‖features‖₂]}
      and writes the optional NPY files (input_npy_out: the preprocessed float32 [N, S, S, 3] NHWC tensor).
 c) {"weights": path, "export_onnx": out path, "size": S} → writes the graph; prints {"ok": true, "path": ...}
Optional in every mode: "threads" (onnxruntime intra-op threads, default 1).

Area resize (separable, rows then columns — the order does not change the result): output pixel t of a side of
source length L and target length S covers the source interval [t·L/S, (t+1)·L/S); source pixel i ([i, i+1))
gets weight overlap / (L/S). No aspect preservation.
"""
import hashlib
import json
import math
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors import safe_open
from safetensors.numpy import load_file

OPSET = 17
BN_EPS = 1e-3
BLOCKS = ([(3, 1, 1, 16)]
          + [(3, 2, 6, 24)] + [(3, 1, 6, 24)]
          + [(5, 2, 6, 40)] + [(5, 1, 6, 40)]
          + [(3, 2, 6, 80)] + [(3, 1, 6, 80)] * 2
          + [(5, 1, 6, 112)] * 3
          + [(5, 2, 6, 192)] + [(5, 1, 6, 192)] * 3
          + [(3, 1, 6, 320)])


def same_pads(length, k, s):
    """TF "SAME" padding of one side length: (begin, end), the odd pixel at the end."""
    total = max((math.ceil(length / s) - 1) * s + k - length, 0)
    return total // 2, total - total // 2


def out_length(length, s):
    return math.ceil(length / s)


def build_graph(weights, height, width):
    """The reference ModelProto for float32 NCHW input of height × width."""
    nodes, inits = [], []
    counter = [0]

    def fresh(base):
        counter[0] += 1
        return f"{base}_{counter[0]}"

    def init(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    init("clip_min", np.array(0.0))
    init("clip_max", np.array(6.0))

    def pad(x, h, w, k, s):
        top, bottom = same_pads(h, k, s)
        left, right = same_pads(w, k, s)
        if top == bottom == left == right == 0:
            return x
        pads = fresh("pads")
        inits.append(numpy_helper.from_array(np.array([0, 0, top, left, 0, 0, bottom, right], dtype=np.int64), pads))
        y = fresh("pad")
        nodes.append(helper.make_node("Pad", [x, pads], [y], mode="constant"))
        return y

    def conv(x, weight, k, s=1, groups=1):
        y = fresh("conv")
        nodes.append(helper.make_node("Conv", [x, init(weight, weights[weight])], [y], kernel_shape=[k, k],
                                      strides=[s, s], pads=[0, 0, 0, 0], group=groups))
        return y

    def bn(x, prefix):
        y = fresh("bn")
        names = [init(f"{prefix}.{f}", weights[f"{prefix}.{f}"]) for f in ("weight", "bias", "running_mean",
                                                                             "running_var")]
        nodes.append(helper.make_node("BatchNormalization", [x] + names, [y], epsilon=BN_EPS))
        return y

    def relu6(x):
        y = fresh("relu6")
        nodes.append(helper.make_node("Clip", [x, "clip_min", "clip_max"], [y]))
        return y

    h, w = height, width
    x = pad("image", h, w, 3, 2)
    x = relu6(bn(conv(x, "_conv_stem.weight", 3, 2), "_bn0"))
    h, w = out_length(h, 2), out_length(w, 2)
    cin = 32
    for i, (k, s, expand, cout) in enumerate(BLOCKS):
        p = f"_blocks.{i}"
        block_input = x
        if expand != 1:
            x = relu6(bn(conv(x, f"{p}._expand_conv.weight", 1), f"{p}._bn0"))
        mid = cin * expand
        x = pad(x, h, w, k, s)
        x = relu6(bn(conv(x, f"{p}._depthwise_conv.weight", k, s, groups=mid), f"{p}._bn1"))
        h, w = out_length(h, s), out_length(w, s)
        x = bn(conv(x, f"{p}._project_conv.weight", 1), f"{p}._bn2")
        if s == 1 and cin == cout:
            y = fresh("add")
            nodes.append(helper.make_node("Add", [x, block_input], [y]))
            x = y
        cin = cout
    x = relu6(bn(conv(x, "_conv_head.weight", 1), "_bn1"))
    pooled = fresh("pool")
    nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
    nodes.append(helper.make_node("Flatten", [pooled], ["features"], axis=1))
    nodes.append(helper.make_node("Gemm", ["features", init("_fc.weight", weights["_fc.weight"]),
                                           init("_fc.bias", weights["_fc.bias"])], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, "efficientnet_lite0_reference",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, height, width])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 1280]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="bihash tools/reference/backbone_onnx.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_weights(path):
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata() or {}
    if metadata.get("format") != "bihash-backbone" or metadata.get("architecture") != "efficientnet-lite0":
        raise SystemExit(f"backbone_onnx: {path} is not a bihash efficientnet-lite0 backbone file ({metadata})")
    return load_file(path)


def graph_path(weights_path, height, width):
    """Builds (or reuses) the cached reference graph; returns its path."""
    cache = os.environ.get("BIHASH_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "bihash-reference-cache")
    os.makedirs(cache, exist_ok=True)
    key = hashlib.sha256((file_sha256(weights_path) + file_sha256(__file__)).encode()).hexdigest()[:24]
    path = os.path.join(cache, f"efficientnet-lite0-{key}-{height}x{width}.onnx")
    if not os.path.exists(path):
        model = build_graph(load_weights(weights_path), height, width)
        fd, tmp = tempfile.mkstemp(dir=cache, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return path


def session(path, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


# ----------------------------------------------------------------------------------------------------------------
# Preprocessing

def area_weights(source, target):
    """[target, source] matrix: row t averages the source interval [t·source/target, (t+1)·source/target)."""
    scale = source / target
    m = np.zeros((target, source))
    for t in range(target):
        lo, hi = t * scale, (t + 1) * scale
        for i in range(int(math.floor(lo)), min(int(math.ceil(hi)), source)):
            overlap = min(hi, i + 1) - max(lo, i)
            if overlap > 0:
                m[t, i] = overlap / scale
    return m


def load_rgb(path):
    """float64 [H, W, 3] in [0, 255], alpha composited on white: v·α + 255·(1 − α)."""
    from PIL import Image
    with Image.open(path) as im:
        im.load()
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit gray: reduce to the 0–255 scale
            gray = np.asarray(im, dtype=np.float64) * (255.0 / 65535.0)
            return np.repeat(gray[:, :, None], 3, axis=2)
        has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info)
        if has_alpha:
            rgba = np.asarray(im.convert("RGBA"), dtype=np.float64)
            a = rgba[:, :, 3:4] / 255.0
            return rgba[:, :, :3] * a + 255.0 * (1.0 - a)
        return np.asarray(im.convert("RGB"), dtype=np.float64)


def preprocess(path, size):
    """float32 [size, size, 3] in [−1, 1]: area resize of the composited RGB image, v = value/255, x = 2v − 1."""
    rgb = load_rgb(path)
    h, w, _ = rgb.shape
    wy, wx = area_weights(h, size), area_weights(w, size)
    rows = np.tensordot(wy, rgb, axes=(1, 0))                         # [size, w, 3]
    resized = np.tensordot(rows, wx, axes=(1, 1)).transpose(0, 2, 1)  # [size, size, 3]
    v = np.clip(resized / 255.0, 0.0, 1.0)
    return (2.0 * v - 1.0).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------

def run(weights, x_nhwc, threads):
    """features, logits of float32 NHWC input."""
    n, h, w, c = x_nhwc.shape
    if c != 3:
        raise SystemExit(f"backbone_onnx: input must have 3 channels (NHWC), got shape {list(x_nhwc.shape)}")
    sess = session(graph_path(weights, h, w), threads)
    if n == 0:
        return np.zeros((0, 1280), np.float32), np.zeros((0, 1000), np.float32)
    x = np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2), dtype=np.float32)
    features, logits = sess.run(["features", "logits"], {"image": x})
    return features, logits


def main():
    request = json.load(sys.stdin)
    weights = request["weights"]
    threads = int(request.get("threads", 1))
    if "export_onnx" in request:
        size = int(request["size"])
        model = build_graph(load_weights(weights), size, size)
        onnx.save(model, request["export_onnx"])
        json.dump({"ok": True, "path": request["export_onnx"]}, sys.stdout)
        return
    if "input_npy" in request:
        x = np.load(request["input_npy"], allow_pickle=False)
        if x.dtype != np.float32 or x.ndim != 4:
            raise SystemExit(f"backbone_onnx: input_npy must be float32 [N, S, S, 3], got {x.dtype} {list(x.shape)}")
        features, logits = run(weights, x, threads)
        np.save(request["features_npy"], features)
        if request.get("logits_npy"):
            np.save(request["logits_npy"], logits)
        json.dump({"ok": True, "n": int(x.shape[0])}, sys.stdout)
        return
    size = int(request["size"])
    x = np.stack([preprocess(p, size) for p in request["images"]]) if request["images"] else \
        np.zeros((0, size, size, 3), np.float32)
    features, logits = run(weights, x, threads)
    for key, value in (("features_npy", features), ("logits_npy", logits), ("input_npy_out", x)):
        if request.get(key):
            np.save(request[key], value)
    order = np.argsort(-logits, axis=1, kind="stable")
    json.dump({"top1": [int(r[0]) for r in order], "top5": [[int(v) for v in r[:5]] for r in order],
               "features_l2": [float(v) for v in np.linalg.norm(features.astype(np.float64), axis=1)]}, sys.stdout)


if __name__ == "__main__":
    main()
