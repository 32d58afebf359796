import BihashCore

extension EfficientNetLite0 {
    /// One MBConv block: kernel k, stride s, expansion ratio e, output channels (EfficientNet-Lite0,
    /// Tan & Le 2019 Table 1 without squeeze-excitation; the 16 blocks after repeating each stage).
    public struct BlockSpec: Equatable, Sendable {
        public let kernel: Int
        public let stride: Int
        public let expansion: Int
        public let inChannels: Int
        public let outChannels: Int

        /// Channels after the 1×1 expansion (= inChannels when expansion is 1: no expansion conv).
        public var expandedChannels: Int { inChannels * expansion }
        /// Whether the block adds its input to its output (stride 1 and same channels).
        public var hasResidual: Bool { stride == 1 && inChannels == outChannels }
    }

    /// Stem output channels (3×3, stride 2 convolution on the RGB image).
    public static let stemChannels = 32
    /// Head output channels = feature dimension.
    public static let featureDimension = 1280
    /// ImageNet classes of the `_fc` classifier.
    public static let classCount = 1000
    /// BatchNorm ε of every BatchNorm of the network (TensorFlow's 1e-3).
    public static let batchNormEpsilon: Float = 1e-3

    /// The 16 blocks, in order (`_blocks.0` … `_blocks.15`).
    public static let blocks: [BlockSpec] = {
        // (kernel, stride, expansion, out, repeats) per stage; repeats after the first use stride 1.
        let stages = [(3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
                      (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1)]
        var result: [BlockSpec] = []
        var cin = stemChannels
        for (k, s, e, out, repeats) in stages {
            for r in 0..<repeats {
                result.append(BlockSpec(kernel: k, stride: r == 0 ? s : 1, expansion: e, inChannels: cin, outChannels: out))
                cin = out
            }
        }
        return result
    }()

    /// Every tensor the weights must hold, with its shape (PyTorch names and layouts of lukemelas'
    /// EfficientNet-PyTorch: convolutions [Cout, Cin/groups, k, k] without bias, BatchNorm weight, bias,
    /// running_mean and running_var [C]; `num_batches_tracked` is not needed and is ignored if present).
    public static let expectedShapes: [String: [Int]] = {
        var shapes: [String: [Int]] = [:]
        func batchNorm(_ prefix: String, _ c: Int) {
            for p in ["weight", "bias", "running_mean", "running_var"] { shapes["\(prefix).\(p)"] = [c] }
        }
        shapes["_conv_stem.weight"] = [stemChannels, 3, 3, 3]
        batchNorm("_bn0", stemChannels)
        for (i, b) in blocks.enumerated() {
            let p = "_blocks.\(i)."
            if b.expansion != 1 {
                shapes[p + "_expand_conv.weight"] = [b.expandedChannels, b.inChannels, 1, 1]
                batchNorm(p + "_bn0", b.expandedChannels)
            }
            shapes[p + "_depthwise_conv.weight"] = [b.expandedChannels, 1, b.kernel, b.kernel]
            batchNorm(p + "_bn1", b.expandedChannels)
            shapes[p + "_project_conv.weight"] = [b.outChannels, b.expandedChannels, 1, 1]
            batchNorm(p + "_bn2", b.outChannels)
        }
        let last = blocks[blocks.count - 1].outChannels
        shapes["_conv_head.weight"] = [featureDimension, last, 1, 1]
        batchNorm("_bn1", featureDimension)
        shapes["_fc.weight"] = [classCount, featureDimension]
        shapes["_fc.bias"] = [classCount]
        return shapes
    }()
}
