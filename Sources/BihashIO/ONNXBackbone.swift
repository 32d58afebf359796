import BihashBackbone
import BihashCore
import BihashMethods
import BihashNN

/// The ONNX nodes of a model's image backbone (EfficientNet-Lite0), NCHW: each convolution with its BatchNorm
/// folded exactly as bihash folds it (`BatchNormFolding`, so the weights are bihash's own Float values) and TF
/// "SAME" padding written out as explicit `pads` (the image side S is fixed, so every feature map's size is known);
/// ReLU6 as `Clip(0, 6)`; the residual as `Add`; then `GlobalAveragePool` and `Flatten` → [batch, 1280].
///
/// Initialisers are named `backbone.<PyTorch conv name>.weight` / `.bias` (folded).
enum ONNXBackbone {
    /// Adds the backbone after `input`, an NCHW float [batch, 3, S, S] image in [0, 1], mapping it to [−1, 1]
    /// first (`BackbonePreprocessing`); returns the name of the features [batch, 1280].
    static func add(to g: ONNXGraphBuilder, _ backbone: ImageBackbone, input: String) throws -> String {
        try require(backbone.name == "efficientnet-lite0", "ONNX export: no graph for the backbone '\(backbone.name)'")
        try g.constant("backbone.const.two", [2], shape: [])
        try g.constant("backbone.const.one", [1], shape: [])
        try g.constant("backbone.const.zero", [0], shape: [])
        try g.constant("backbone.const.six", [6], shape: [])
        try g.node("Mul", "backbone/input/Double", [input, "backbone.const.two"], ["backbone.input.doubled"])
        try g.node("Sub", "backbone/input/Center", ["backbone.input.doubled", "backbone.const.one"], ["backbone.input"])  // 2·v − 1

        var side = backbone.imageSize
        var h = "backbone.input"
        /// One convolution + folded BatchNorm (+ ReLU6), updating `side` and `h`.
        func conv(_ convName: String, _ bn: String, stride: Int, groups: Int, relu6: Bool) throws {
            let w = try tensor(backbone, convName + ".weight")
            let folding = try BatchNormFolding(gamma: tensor(backbone, bn + ".weight"), beta: tensor(backbone, bn + ".bias"),
                                               runningMean: tensor(backbone, bn + ".running_mean"),
                                               runningVar: tensor(backbone, bn + ".running_var"),
                                               epsilon: EfficientNetLite0.batchNormEpsilon)
            let (fw, fb) = try folding.fold(weight: w)
            let k = w.shape[2]
            let pad = SamePadding(input: side, kernel: k, stride: stride)
            let p = "backbone.\(convName)"
            try g.constant(p + ".weight", fw.scalars, shape: fw.shape)
            try g.constant(p + ".bias", fb.scalars, shape: fb.shape)
            try g.node("Conv", "backbone/\(convName)", [h, p + ".weight", p + ".bias"], [p + ".out"],
                       ints: ["group": groups],
                       intLists: ["kernel_shape": [k, k], "strides": [stride, stride],
                                  "pads": [pad.before, pad.before, pad.after, pad.after]])
            h = p + ".out"
            side = pad.output
            if relu6 {
                try g.node("Clip", "backbone/\(convName)/ReLU6", [h, "backbone.const.zero", "backbone.const.six"], [p + ".relu6"])
                h = p + ".relu6"
            }
        }
        try conv("_conv_stem", "_bn0", stride: 2, groups: 1, relu6: true)
        for (i, spec) in EfficientNetLite0.blocks.enumerated() {
            let p = "_blocks.\(i)."
            let blockInput = h
            if spec.expansion != 1 { try conv(p + "_expand_conv", p + "_bn0", stride: 1, groups: 1, relu6: true) }
            try conv(p + "_depthwise_conv", p + "_bn1", stride: spec.stride, groups: spec.expandedChannels, relu6: true)
            try conv(p + "_project_conv", p + "_bn2", stride: 1, groups: 1, relu6: false)
            if spec.hasResidual {
                let out = "backbone.\(p)residual"
                try g.node("Add", "backbone/\(p)Residual", [h, blockInput], [out])
                h = out
            }
        }
        try conv("_conv_head", "_bn1", stride: 1, groups: 1, relu6: true)
        try g.node("GlobalAveragePool", "backbone/Pool", [h], ["backbone.pooled"])
        try g.node("Flatten", "backbone/Flatten", ["backbone.pooled"], ["backbone.features"], ints: ["axis": 1])
        return "backbone.features"
    }

    private static func tensor(_ backbone: ImageBackbone, _ name: String) throws -> Tensor<Float> {
        guard let t = backbone.weights[name] else {
            throw BihashError.invalidArgument("ONNX export: backbone tensor '\(name)' is missing")
        }
        return t
    }
}
