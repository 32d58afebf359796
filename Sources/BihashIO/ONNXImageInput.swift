import BihashCore
import BihashMethods

/// The ONNX nodes that turn a decoded image tensor into a model's input, computing in the graph what
/// `ImageDecoder.inputRow` computes in bihash after decoding: an **area resize** to the model's size and the
/// scaling by 1/255 (clamped to [0, 1]).
///
/// Input `image`: uint8 [batch, height, width, C] (channel-last, as decoders return pixels; any height and
/// width; C = the model's channels: RGB for 3, grey for 1, alpha already composited). The area resize is two
/// matrix products, Z = R_y · X · R_xᵀ, with the weights built in the graph from the input's height and width:
/// target pixel t covers the source interval [t·s, (t+1)·s) with s = source/target, and
/// R[t, x] = max(0, min(x + 1, (t+1)·s) − max(x, t·s)) / s (the overlap of source pixel x with that interval,
/// normalised so each row sums to 1) — the weights bihash's `ImageDecoder.areaWeights` uses.
enum ONNXImageInput {
    /// Name of the image graph input.
    static let inputName = "image"

    /// Declares the `image` input and adds the resize; returns the name of the resized image as float
    /// [batch, C, height, width] in [0, 1] (NCHW, for convolutions) and of the same as rows
    /// [batch, height · width · C] (channel-last, as bihash's input rows).
    static func add(to g: ONNXGraphBuilder, _ shape: ImageInput) throws -> (nchw: String, rows: String) {
        let c = shape.channels
        try g.addValue(input: true, name: inputName, type: .uint8, dims: [-1, -1, -1, c],
                       dimNames: [ONNXExport.batchDimension, "height", "width", nil])
        try g.node("Cast", "image/ToFloat", [inputName], ["image.float"], ints: ["to": Int(ONNXElementType.float.rawValue)])
        try g.node("Transpose", "image/ToNCHW", ["image.float"], ["image.nchw"], intLists: ["perm": [0, 3, 1, 2]])
        try g.node("Shape", "image/Shape", [inputName], ["image.shape"])
        try g.constant("const.image.zero", [0], shape: [])
        try g.constant("const.image.one", [1], shape: [])
        try g.constant("const.image.inv255", [1 / 255], shape: [])
        let ry = try areaMatrix(g, axis: 1, axisName: "height", target: shape.height)   // [H', H]
        let rx = try areaMatrix(g, axis: 2, axisName: "width", target: shape.width)     // [W', W]
        try g.node("Transpose", "image/width/Transpose", [rx], ["image.width.weights_t"], intLists: ["perm": [1, 0]])
        try g.node("MatMul", "image/ResizeHeight", [ry, "image.nchw"], ["image.resized_h"])            // [N, C, H', W]
        try g.node("MatMul", "image/ResizeWidth", ["image.resized_h", "image.width.weights_t"], ["image.resized"])  // [N, C, H', W']
        try g.node("Mul", "image/Scale", ["image.resized", "const.image.inv255"], ["image.scaled"])
        try g.node("Clip", "image/Clip", ["image.scaled", "const.image.zero", "const.image.one"], ["image.input_nchw"])
        try g.node("Transpose", "image/ToNHWC", ["image.input_nchw"], ["image.input_nhwc"], intLists: ["perm": [0, 2, 3, 1]])
        try g.constant("const.image.rows_shape", int64: [-1, Int64(shape.dimension)], shape: [2])
        try g.node("Reshape", "image/ToRows", ["image.input_nhwc", "const.image.rows_shape"], ["image.input_rows"])
        return ("image.input_nchw", "image.input_rows")
    }

    /// R [target, source] for the input's dimension `axis` (1 = height, 2 = width), built from its run-time size.
    private static func areaMatrix(_ g: ONNXGraphBuilder, axis: Int, axisName: String, target: Int) throws -> String {
        let p = "image.\(axisName)"
        try g.constant("\(p).axis", int64: [Int64(axis)], shape: [])
        try g.node("Gather", "image/\(axisName)/Size", ["image.shape", "\(p).axis"], ["\(p).size_i64"], ints: ["axis": 0])
        try g.node("Cast", "image/\(axisName)/SizeFloat", ["\(p).size_i64"], ["\(p).size"], ints: ["to": Int(ONNXElementType.float.rawValue)])
        try g.constant("\(p).target", [Float(target)], shape: [])
        try g.node("Div", "image/\(axisName)/Scale", ["\(p).size", "\(p).target"], ["\(p).scale"])          // s = source / target
        try g.constant("\(p).t", (0..<target).map(Float.init), shape: [target, 1])
        try g.node("Mul", "image/\(axisName)/Low", ["\(p).t", "\(p).scale"], ["\(p).lo"])                    // t·s
        try g.node("Add", "image/\(axisName)/High", ["\(p).lo", "\(p).scale"], ["\(p).hi"])                  // (t+1)·s
        try g.node("Range", "image/\(axisName)/Pixels", ["const.image.zero", "\(p).size", "const.image.one"], ["\(p).x_flat"])
        try g.constant("\(p).unsqueeze_axes", int64: [0], shape: [1])
        try g.node("Unsqueeze", "image/\(axisName)/Row", ["\(p).x_flat", "\(p).unsqueeze_axes"], ["\(p).x"])  // [1, source]
        try g.node("Add", "image/\(axisName)/PixelEnd", ["\(p).x", "const.image.one"], ["\(p).x_end"])
        try g.node("Min", "image/\(axisName)/Right", ["\(p).x_end", "\(p).hi"], ["\(p).right"])
        try g.node("Max", "image/\(axisName)/Left", ["\(p).x", "\(p).lo"], ["\(p).left"])
        try g.node("Sub", "image/\(axisName)/Overlap", ["\(p).right", "\(p).left"], ["\(p).overlap_raw"])
        try g.node("Relu", "image/\(axisName)/Clamp", ["\(p).overlap_raw"], ["\(p).overlap"])
        try g.node("Div", "image/\(axisName)/Weights", ["\(p).overlap", "\(p).scale"], ["\(p).weights"])
        return "\(p).weights"
    }
}
