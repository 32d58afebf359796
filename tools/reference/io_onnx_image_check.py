#!/usr/bin/env python3
"""Runs a bihash ONNX export with the `image` input (BIHASH_EXPORT_IMAGE_INPUT) in onnxruntime, one image at a time
(they differ in size) and as one batch of equal-size images.

Input:  {"model": path, "images": [{"path": raw uint8 file [height, width, channels], "height": h, "width": w,
                                     "channels": c}, ...]}
Output: {"codes": [hex per image], "presign": [[floats] per image] (when the graph has the output),
         "inputs": [[name, dims]], "batch_consistent": the images of the first image's size, stacked, give the same
         codes as one by one}
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main():
    request = json.load(sys.stdin)
    model = onnx.load(request["model"])
    onnx.checker.check_model(model, full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(request["model"], options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    images = []
    for entry in request["images"]:
        raw = np.fromfile(entry["path"], dtype=np.uint8)
        images.append(raw.reshape(entry["height"], entry["width"], entry["channels"]))
    codes, presign = [], []
    for img in images:
        out = dict(zip(names, session.run(None, {"image": img[None]})))
        codes.append(out["codes"][0].tobytes().hex())
        if "presign" in out:
            presign.append([float(v) for v in out["presign"][0]])
    same = [i for i, img in enumerate(images) if img.shape == images[0].shape]
    batch = session.run(["codes"], {"image": np.stack([images[i] for i in same])})[0]
    consistent = all(batch[j].tobytes().hex() == codes[i] for j, i in enumerate(same))
    dims = lambda v: [d.dim_param if d.dim_param else d.dim_value for d in v.type.tensor_type.shape.dim]
    json.dump({"codes": codes, "presign": presign, "inputs": [[i.name, dims(i)] for i in model.graph.input],
               "batch_consistent": consistent}, sys.stdout)


if __name__ == "__main__":
    main()
