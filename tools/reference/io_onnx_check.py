#!/usr/bin/env python3
"""Checks bihash's exported ONNX models with the `onnx` package and runs them in onnxruntime (pip).

Input:  {"models": [{"path": p, "presign": optional path of bihash's U as raw little-endian float32 [rows, K]}],
         "features": path of raw little-endian float32 [rows, cols], "rows": n, "cols": d}
Output: {"results": [{"codes": hex of the `codes` output (uint8 [n, ceil(K/8)]),
                      "codes_shape": [...], "codes_dtype": "uint8",
                      "presign_max_abs_diff": max |presign - U| (or null without a presign output),
                      "ir_version", "opset", "inputs": [[name, [dims or dim_params]]], "outputs": [...],
                      "small_batch_consistent": the first 3 rows alone give the same codes,
                      "empty_batch_ok": a batch of 0 rows gives a [0, ceil(K/8)] output}],
         "onnx_version", "onnxruntime_version"}
`onnx.checker.check_model(full_check=True)` must pass on every model (the script fails otherwise).
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def dims(value_info):
    return [d.dim_param if d.dim_param else d.dim_value for d in value_info.type.tensor_type.shape.dim]


def main():
    request = json.load(sys.stdin)
    x = np.fromfile(request["features"], dtype="<f4").reshape(request["rows"], request["cols"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    results = []
    for entry in request["models"]:
        model = onnx.load(entry["path"])
        onnx.checker.check_model(model, full_check=True)
        session = ort.InferenceSession(entry["path"], options, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        outputs = dict(zip(names, session.run(None, {"features": x})))
        codes = outputs["codes"]
        diff = None
        if "presign" in outputs and entry.get("presign"):
            u = np.fromfile(entry["presign"], dtype="<f4").reshape(outputs["presign"].shape)
            diff = float(np.max(np.abs(outputs["presign"].astype(np.float64) - u))) if u.size else 0.0
        small = session.run(["codes"], {"features": x[:3]})[0]
        empty = session.run(["codes"], {"features": x[:0]})[0]
        results.append({
            "codes": codes.tobytes().hex(),
            "codes_shape": list(codes.shape),
            "codes_dtype": str(codes.dtype),
            "presign_max_abs_diff": diff,
            "ir_version": model.ir_version,
            "opset": [[o.domain, o.version] for o in model.opset_import],
            "inputs": [[i.name, dims(i)] for i in model.graph.input],
            "outputs": [[o.name, dims(o)] for o in model.graph.output],
            "small_batch_consistent": bool(np.array_equal(small, codes[:3])),
            "empty_batch_ok": list(empty.shape) == [0, codes.shape[1]],
        })
    json.dump({"results": results, "onnx_version": onnx.__version__, "onnxruntime_version": ort.__version__},
              sys.stdout)


if __name__ == "__main__":
    main()
