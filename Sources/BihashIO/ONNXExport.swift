#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BihashCore
import BihashNN
import BihashMethods
import COnnx

/// Exports a `HashModel`'s inference graph to ONNX (IR version 8, default-domain opset 17), built, checked
/// (`onnx::checker::check_model`) and shape-inferred in strict mode by Debian's libonnx before it is written.
///
/// The graph (shape legend: N = batch, symbolic `"batch"`; D = input features; K = bits; B = ⌈K/8⌉):
///
/// - input `features`: float [N, D];
/// - preprocessing `minmax-round` (if the model has it), in bihash's exact Float arithmetic:
///   lo = ReduceMin, hi = ReduceMax (per row), r = hi − lo, `Round((x − lo) / Where(r > 0, r, 1))` (Round is
///   half-to-even; a constant row gives 0, as in bihash);
/// - the encoder: `Gemm(transB = 1)` per Linear; `Relu`; GELU as `0.5·x · (1 + Erf(x · 0.70710677))` (opset 17 has
///   no Gelu); `Tanh`; `Sigmoid`; BatchNorm1d (eval) folded into `Mul` + `Add` with the per-feature scale
///   γ/√(running_var + eps) and shift β − running_mean·scale that bihash itself computes in Float (so the
///   result is bit-identical to bihash's eval BatchNorm); Dropout is dropped (identity at inference);
/// - output `codes`: uint8 [N, B], packed as bihash packs them (bit k = bit 7 − k mod 8 of byte k/8, a set bit
///   for U ≥ 0, i.e. sign(0) = +1): `GreaterOrEqual(U, 0)` → `Cast(float)` → `Pad` to a multiple of 8 →
///   `Reshape [N, B, 8]` → `Mul [128, 64, …, 1]` → `ReduceSum(axis 2)` → `Cast(uint8)`;
/// - optional output `presign`: float [N, K], the pre-sign values U.
///
/// Initialisers keep bihash's tensor names (`encoder.0.weight`, …; a folded batch norm becomes `<name>.scale`
/// and `<name>.shift`). The model's `metadata_props` carry `bihash.method`, `bihash.bits`, `bihash.bit_order`,
/// `bihash.input`, `bihash.arch` and `bihash.fingerprint` (as in the weights file).
///
/// Unlike `HashModel.encode`, the graph does not reject NaN or infinite inputs.
///
/// ```swift
/// try ONNXExport.export(model, to: "model.onnx", includePresign: true)
/// ```
///
/// ### See Also
/// - ``ModelFile`` for the weights file.
public enum ONNXExport {
    /// The ONNX IR version written (the newest libonnx 1.12 knows).
    public static let irVersion = 8
    /// The default-domain opset written (the newest libonnx 1.12 knows).
    public static let opsetVersion = 17
    /// Name of the graph input, float [batch, D].
    public static let inputName = "features"
    /// Name of the packed-codes output, uint8 [batch, ⌈K/8⌉].
    public static let codesOutputName = "codes"
    /// Name of the optional pre-sign output, float [batch, K].
    public static let presignOutputName = "presign"
    /// The symbolic name of the batch dimension.
    public static let batchDimension = "batch"

    /// The serialised ONNX model (a `ModelProto`) of `model`'s inference graph.
    /// - Parameters:
    ///   - model: the model to export; every layer must be Linear, ReLU, GELU, Tanh, Sigmoid, BatchNorm1d or Dropout.
    ///   - includePresign: also output the pre-sign values U as `presign` float [batch, K].
    ///   - imageInput: replace the `features` input by `image`, uint8 [batch, height, width, C] of any size, resized
    ///     in the graph as bihash resizes decoded image files (see `ONNXImageInput`); needs a model with an image input.
    /// - Throws: `BihashError.invalidArgument` for a layer type that cannot be exported or inconsistent shapes, or
    ///   `imageInput` for a model without an image input;
    ///   `.numerical` for non-finite weights; `.limitExceeded` for a model above protobuf's 2 GiB limit;
    ///   `.invalidFormat` if libonnx's checker or strict shape inference rejects the graph.
    public static func serialize(_ model: HashModel, includePresign: Bool = false, imageInput: Bool = false) throws -> [UInt8] {
        if imageInput && model.imageInput == nil {
            throw BihashError.invalidArgument("ONNX image input: the \(model.method.rawValue) model has no image input (it was trained on feature vectors, not images)")
        }
        let arch = try ModelArchitecture(model: model)
        let g = try ONNXGraphBuilder(irVersion: irVersion, opsetVersion: opsetVersion, graphName: "bihash_\(model.method.rawValue)_\(model.bits)")
        let k = model.bits, bytesPerCode = (k + 7) / 8
        try g.setDoc("bihash \(model.method.rawValue) model, K = \(k) bits: features [batch, \(model.inputDimension)] → codes [batch, \(bytesPerCode)] uint8, bit k = bit 7 − k mod 8 of byte k/8 (MSB first, as numpy.packbits), set for U ≥ 0.")
        try g.addMetadata("bihash.method", model.method.rawValue)
        try g.addMetadata("bihash.bits", String(k))
        try g.addMetadata("bihash.bit_order", ModelFile.bitOrder)
        try g.addMetadata("bihash.input", ModelFile.inputJSON(model))
        try g.addMetadata("bihash.arch", arch.json)
        try g.addMetadata("bihash.fingerprint", ModelFile.hex(ModelFile.fingerprint(model: model, architecture: arch)))
        if let backbone = model.backbone { try g.addMetadata(ModelFile.Key.backbone, ModelFile.backboneJSON(backbone)) }
        var h = inputName
        if let backbone = model.backbone {
            // Image rows or an image, then the backbone: the encoder sees its features.
            var nchw: String
            if imageInput {
                nchw = try ONNXImageInput.add(to: g, backbone.imageInput).nchw
            } else {
                let s = Int64(backbone.imageSize)
                try g.addValue(input: true, name: inputName, type: .float, dims: [-1, model.inputDimension])
                try g.constant("const.backbone.image_shape", int64: [-1, s, s, 3], shape: [4])
                try g.node("Reshape", "backbone/Rows", [inputName, "const.backbone.image_shape"], ["backbone.rows_nhwc"])
                try g.node("Transpose", "backbone/RowsToNCHW", ["backbone.rows_nhwc"], ["backbone.rows_nchw"], intLists: ["perm": [0, 3, 1, 2]])
                nchw = "backbone.rows_nchw"
            }
            h = try ONNXBackbone.add(to: g, backbone, input: nchw)
        } else if imageInput, let shape = model.imageInput {
            h = try ONNXImageInput.add(to: g, shape).rows
        } else {
            try g.addValue(input: true, name: inputName, type: .float, dims: [-1, model.inputDimension])
        }
        if model.preprocessing == .minMaxRound {
            try g.constant("const.zero", [0], shape: [])
            try g.constant("const.one", [1], shape: [])
            try g.node("ReduceMin", "preprocess/ReduceMin", [h], ["preprocess.min"], ints: ["keepdims": 1], intLists: ["axes": [1]])
            try g.node("ReduceMax", "preprocess/ReduceMax", [h], ["preprocess.max"], ints: ["keepdims": 1], intLists: ["axes": [1]])
            try g.node("Sub", "preprocess/Range", ["preprocess.max", "preprocess.min"], ["preprocess.range"])
            try g.node("Greater", "preprocess/HasRange", ["preprocess.range", "const.zero"], ["preprocess.has_range"])
            try g.node("Where", "preprocess/Denominator", ["preprocess.has_range", "preprocess.range", "const.one"], ["preprocess.denominator"])
            try g.node("Sub", "preprocess/Shift", [h, "preprocess.min"], ["preprocess.shifted"])
            try g.node("Div", "preprocess/Scale", ["preprocess.shifted", "preprocess.denominator"], ["preprocess.scaled"])
            try g.node("Round", "preprocess/Round", ["preprocess.scaled"], ["preprocess.rounded"])
            h = "preprocess.rounded"
        }

        for (i, entry) in arch.layers.enumerated() {
            let p = "layers.\(i)"
            switch entry.spec {
            case .linear:
                guard let l = entry.layer as? Linear<Float> else { throw mismatch(i) }
                try g.constant(l.weight.name, l.weight.value.scalars, shape: l.weight.value.shape)
                try g.constant(l.bias.name, l.bias.value.scalars, shape: l.bias.value.shape)
                try g.node("Gemm", "\(p)/Gemm", [h, l.weight.name, l.bias.name], ["\(p).gemm"], ints: ["transB": 1])
                h = "\(p).gemm"
            case .relu:
                try g.node("Relu", "\(p)/Relu", [h], ["\(p).relu"])
                h = "\(p).relu"
            case .tanh:
                try g.node("Tanh", "\(p)/Tanh", [h], ["\(p).tanh"])
                h = "\(p).tanh"
            case .sigmoid:
                try g.node("Sigmoid", "\(p)/Sigmoid", [h], ["\(p).sigmoid"])
                h = "\(p).sigmoid"
            case .gelu:
                // bihash: 0.5·v·(1 + erf(v·(1/√2))), evaluated left to right.
                try g.constantOnce("const.gelu.inv_sqrt2", Float(0.70710678118654752440))
                try g.constantOnce("const.half", 0.5)
                try g.constantOnce("const.one", 1)
                try g.node("Mul", "\(p)/ScaleInput", [h, "const.gelu.inv_sqrt2"], ["\(p).gelu.scaled"])
                try g.node("Erf", "\(p)/Erf", ["\(p).gelu.scaled"], ["\(p).gelu.erf"])
                try g.node("Add", "\(p)/AddOne", ["\(p).gelu.erf", "const.one"], ["\(p).gelu.cdf2"])
                try g.node("Mul", "\(p)/Half", [h, "const.half"], ["\(p).gelu.half"])
                try g.node("Mul", "\(p)/Gelu", ["\(p).gelu.half", "\(p).gelu.cdf2"], ["\(p).gelu"])
                h = "\(p).gelu"
            case .batchNorm(let name, let d, _, _):
                guard let bn = entry.layer as? BatchNorm1d<Float> else { throw mismatch(i) }
                // Exactly BatchNorm1d's eval arithmetic: scale = γ·(1/√(var + eps)), shift = β − mean·scale.
                let eps = Float(bn.eps)
                var scale = [Float](repeating: 0, count: d), shift = [Float](repeating: 0, count: d)
                for j in 0..<d {
                    let invStd = 1 / (bn.runningVar.value.scalars[j] + eps).squareRoot()
                    scale[j] = bn.weight.value.scalars[j] * invStd
                    shift[j] = bn.bias.value.scalars[j] - bn.runningMean.value.scalars[j] * scale[j]
                }
                for j in 0..<d where !scale[j].isFinite || !shift[j].isFinite {
                    throw BihashError.numerical("batch norm '\(name)': folded scale/shift of feature \(j) is not finite (running_var + eps ≤ 0?)")
                }
                try g.constant("\(name).scale", scale, shape: [d])
                try g.constant("\(name).shift", shift, shape: [d])
                try g.node("Mul", "\(p)/BatchNormScale", [h, "\(name).scale"], ["\(p).bn.scaled"])
                try g.node("Add", "\(p)/BatchNormShift", ["\(p).bn.scaled", "\(name).shift"], ["\(p).bn"])
                h = "\(p).bn"
            case .dropout:
                continue
            }
        }

        if includePresign {
            try g.node("Identity", "output/Presign", [h], [presignOutputName])
            try g.addValue(input: false, name: presignOutputName, type: .float, dims: [-1, k])
        }
        // Pack: bit = U ≥ 0; bytes = Σ_j bit[8b + j]·2^(7−j).
        try g.constantOnce("const.zero", 0)
        try g.node("GreaterOrEqual", "codes/Sign", [h, "const.zero"], ["codes.is_set"])
        try g.node("Cast", "codes/BitsToFloat", ["codes.is_set"], ["codes.bits"], ints: ["to": Int(ONNXElementType.float.rawValue)])
        var bits = "codes.bits"
        if k % 8 != 0 {
            try g.constant("const.codes.pads", int64: [0, 0, 0, Int64(8 * bytesPerCode - k)], shape: [4])
            try g.node("Pad", "codes/Pad", [bits, "const.codes.pads"], ["codes.padded"])
            bits = "codes.padded"
        }
        try g.constant("const.codes.shape", int64: [0, Int64(bytesPerCode), 8], shape: [3])
        try g.constant("const.codes.weights", [128, 64, 32, 16, 8, 4, 2, 1], shape: [8])
        try g.constant("const.codes.axis", int64: [2], shape: [1])
        try g.node("Reshape", "codes/Group", [bits, "const.codes.shape"], ["codes.groups"])
        try g.node("Mul", "codes/Weigh", ["codes.groups", "const.codes.weights"], ["codes.weighted"])
        try g.node("ReduceSum", "codes/Sum", ["codes.weighted", "const.codes.axis"], ["codes.sum"], ints: ["keepdims": 0])
        try g.node("Cast", "codes/ToUInt8", ["codes.sum"], [codesOutputName], ints: ["to": Int(ONNXElementType.uint8.rawValue)])
        try g.addValue(input: false, name: codesOutputName, type: .uint8, dims: [-1, bytesPerCode])
        return try g.finish()
    }

    /// Writes `model`'s ONNX graph (see `serialize(_:includePresign:)`) to `path` atomically (temporary file in
    /// the same directory, `fsync`, `rename`).
    /// - Throws: see `serialize(_:includePresign:)`; `BihashError.io` when the file cannot be written.
    public static func export(_ model: HashModel, to path: String, includePresign: Bool = false, imageInput: Bool = false) throws {
        let bytes = try serialize(model, includePresign: includePresign, imageInput: imageInput)
        try FileBytes.writeAtomically(bytes, to: path, what: "ONNX model")
    }

    private static func mismatch(_ i: Int) -> BihashError {
        .invalidState("encoder layer \(i) changed type during export")
    }
}

/// ONNX element types used by the exporter (values of `onnx.TensorProto.DataType`).
enum ONNXElementType: Int32 {
    case float = 1, uint8 = 2, int64 = 7, bool = 9
}

/// Owns a `connx_model` (COnnx) and turns its status codes into `BihashError`s. Every value name is checked
/// for uniqueness before it reaches libonnx.
final class ONNXGraphBuilder {
    private let handle: OpaquePointer
    private var names = Set<String>()

    init(irVersion: Int, opsetVersion: Int, graphName: String) throws {
        guard let h = connx_model_create(Int64(irVersion), Int64(opsetVersion), "bihash", String(ModelFile.formatVersion), graphName) else {
            throw BihashError.limitExceeded("out of memory creating an ONNX model")
        }
        handle = h
    }

    deinit { connx_model_free(handle) }

    private func check(_ status: Int32, _ what: String) throws {
        if status == 0 { return }
        let message = "\(what): " + String(cString: connx_model_last_error(handle))
        switch UInt32(bitPattern: status) {
        case CONNX_ERROR_ARGUMENT.rawValue: throw BihashError.invalidArgument(message)
        case CONNX_ERROR_CHECK.rawValue, CONNX_ERROR_SHAPE_INFERENCE.rawValue: throw BihashError.invalidFormat(message)
        case CONNX_ERROR_TOO_LARGE.rawValue, CONNX_ERROR_MEMORY.rawValue: throw BihashError.limitExceeded(message)
        default: throw BihashError.invalidState(message)
        }
    }

    private func claim(_ name: String) throws {
        try require(!name.isEmpty, "ONNX export: empty value name")
        try require(names.insert(name).inserted, "ONNX export: the name '\(name)' is used twice (rename the layer's parameters)")
    }

    func setDoc(_ doc: String) throws { try check(connx_model_set_doc(handle, doc), "ONNX doc string") }

    func addMetadata(_ key: String, _ value: String) throws {
        try check(connx_model_add_metadata(handle, key, value), "ONNX metadata \(key)")
    }

    /// A graph input or output; a negative dimension is symbolic, named by `dimNames` at its position (default:
    /// the batch dimension's name).
    func addValue(input: Bool, name: String, type: ONNXElementType, dims: [Int], dimNames: [String?] = []) throws {
        if input { try claim(name) }
        let d = dims.map(Int64.init)
        let params: [String?] = dims.enumerated().map { i, v in
            v < 0 ? ((i < dimNames.count ? dimNames[i] : nil) ?? ONNXExport.batchDimension) : nil
        }
        let status = withCStrings(params) { p in
            input ? connx_model_add_input(handle, name, type.rawValue, d.count, d, p)
                  : connx_model_add_output(handle, name, type.rawValue, d.count, d, p)
        }
        try check(status, "ONNX \(input ? "input" : "output") \(name)")
    }

    /// A float initialiser.
    func constant(_ name: String, _ values: [Float], shape: [Int]) throws {
        try claim(name)
        let d = shape.map(Int64.init)
        let status = values.withUnsafeBytes { raw in
            connx_model_add_initializer(handle, name, ONNXElementType.float.rawValue, d.count, d, raw.baseAddress, raw.count)
        }
        try check(status, "ONNX initializer \(name)")
    }

    /// An int64 initialiser.
    func constant(_ name: String, int64 values: [Int64], shape: [Int]) throws {
        try claim(name)
        let d = shape.map(Int64.init)
        let status = values.withUnsafeBytes { raw in
            connx_model_add_initializer(handle, name, ONNXElementType.int64.rawValue, d.count, d, raw.baseAddress, raw.count)
        }
        try check(status, "ONNX initializer \(name)")
    }

    /// A float scalar initialiser, added the first time only.
    func constantOnce(_ name: String, _ value: Float) throws {
        if names.contains(name) { return }
        try constant(name, [value], shape: [])
    }

    /// A node with INT, INTS and FLOAT attributes (applied in sorted key order, for reproducible files).
    func node(_ op: String, _ name: String, _ inputs: [String], _ outputs: [String], ints: [String: Int] = [:],
              intLists: [String: [Int]] = [:], floats: [String: Float] = [:]) throws {
        for o in outputs { try claim(o) }
        let status = withCStrings(inputs) { i in
            withCStrings(outputs) { o in
                connx_model_add_node(handle, op, name, inputs.count, i, outputs.count, o)
            }
        }
        try check(status, "ONNX node \(name)")
        for (k, v) in ints.sorted(by: { $0.key < $1.key }) {
            try check(connx_model_set_attribute_int(handle, k, Int64(v)), "ONNX attribute \(name).\(k)")
        }
        for (k, v) in intLists.sorted(by: { $0.key < $1.key }) {
            let values = v.map(Int64.init)
            try check(connx_model_set_attribute_ints(handle, k, values.count, values), "ONNX attribute \(name).\(k)")
        }
        for (k, v) in floats.sorted(by: { $0.key < $1.key }) {
            try check(connx_model_set_attribute_float(handle, k, v), "ONNX attribute \(name).\(k)")
        }
    }

    /// Checks, shape-infers (strict) and serialises the model.
    func finish() throws -> [UInt8] {
        var data: UnsafePointer<UInt8>?
        var size = 0
        try check(connx_model_finish(handle, &data, &size), "ONNX export")
        guard let data else { throw BihashError.invalidState("ONNX export: libonnx returned no bytes") }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
}

/// Calls `body` with a C array of NUL-terminated copies of `strings` (NULL entries for nil; a NULL array when
/// `strings` is empty).
private func withCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { for c in copies { free(c) } }
    let pointers = copies.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { buf in body(buf.baseAddress) }
}
