import BihashCore
import BihashNN
import Foundation

/// EfficientNet-Lite0 (Tan & Le, ICML 2019; the "Lite" variant: ReLU6, no squeeze-excitation, fixed stem and
/// head), pretrained on ImageNet, as a frozen feature extractor: forward only, no backward, nothing trainable.
///
/// Network (NHWC, TF "SAME" padding, BatchNorm ε = 1e-3 folded into the convolutions at load):
/// stem 3×3/2 conv → 32 + ReLU6 → 16 MBConv blocks (`blocks`) → 1×1 conv → 1280 + ReLU6 → global average pool
/// → features [N, 1280] → `_fc` → ImageNet logits [N, 1000].
///
/// Input: [N, S, S, 3] RGB in [−1, 1] (see `BackbonePreprocessing`); S ≥ `minimumSide` (224 = ImageNet
/// resolution, 96 = bihash's fast setting). Height and width may differ.
///
/// ```swift
/// let net = try EfficientNetLite0(weights: tensors)          // names and shapes: `expectedShapes`
/// let f = try net.features(images)                           // [N, 1280]
/// ```
///
/// Threading: a batch is split over `threads` workers, each running whole images (micro-batches) through the
/// network (see `features`); the convolutions use bihash's own kernels, not OpenBLAS, so no global BLAS thread
/// setting is involved. The weights are immutable and the value is `Sendable`: several threads may call
/// `features`/`logits` at once. Work buffers (2.5 MB per worker at 96 px, 4.7 MB at 224 px) are kept between
/// calls for the most recent image size and reused.
public struct EfficientNetLite0: Sendable {
    /// Smallest accepted image side: five stride-2 stages leave a 1×1 map at 32 px.
    public static let minimumSide = 32
    /// Largest accepted image side (bounds the work buffers: about 290 MB per worker at this size).
    public static let maximumSide = 2048

    let stem: Conv2d
    let mbBlocks: [MBConvBlock]
    let head: Conv2d
    /// `_fc.weight` [1000, 1280] and `_fc.bias` [1000].
    let fcWeight: Tensor<Float>
    let fcBias: [Float]
    /// Work buffers reused between calls (see `WorkspacePool`).
    let workspaces = WorkspacePool(limit: Swift.max(2, Parallel.coreCount))

    /// The network from PyTorch-named tensors (see `expectedShapes`), folding each BatchNorm into its convolution.
    /// - Throws: `BihashError.invalidArgument` naming the missing tensors, an unexpected tensor, a tensor with the
    ///   wrong shape, non-finite values or a negative BatchNorm variance.
    public init(weights: [String: Tensor<Float>]) throws {
        let expected = Self.expectedShapes
        let missing = expected.keys.filter { weights[$0] == nil }.sorted(by: Self.naturalOrder)
        if !missing.isEmpty {
            let shown = missing.prefix(5).map { "'\($0)' \(expected[$0]!)" }.joined(separator: ", ")
            throw BihashError.invalidArgument(
                "EfficientNet-Lite0 weights: \(missing.count) tensor\(missing.count == 1 ? " is" : "s are") missing: \(shown)\(missing.count > 5 ? ", …" : "")")
        }
        let unexpected = weights.keys.filter { expected[$0] == nil && !$0.hasSuffix(".num_batches_tracked") }.sorted(by: Self.naturalOrder)
        if let name = unexpected.first {
            throw BihashError.invalidArgument(
                "EfficientNet-Lite0 weights: unexpected tensor '\(name)'\(unexpected.count > 1 ? " (and \(unexpected.count - 1) more)" : "") — not a tensor of EfficientNet-Lite0 (different model or naming?)")
        }
        for (name, shape) in expected.sorted(by: { Self.naturalOrder($0.key, $1.key) }) where weights[name]!.shape != shape {
            throw BihashError.invalidArgument("EfficientNet-Lite0 weights: tensor '\(name)' has shape \(weights[name]!.shape), expected \(shape)")
        }
        func tensor(_ name: String) -> Tensor<Float> { weights[name]! }
        /// The weight of `convName` and a bias, with the BatchNorm `bn` folded in.
        func folded(_ convName: String, _ bn: String) throws -> (weight: Tensor<Float>, bias: Tensor<Float>) {
            do {
                let folding = try BatchNormFolding(gamma: tensor(bn + ".weight"), beta: tensor(bn + ".bias"),
                                                   runningMean: tensor(bn + ".running_mean"),
                                                   runningVar: tensor(bn + ".running_var"), epsilon: Self.batchNormEpsilon)
                return try folding.fold(weight: tensor(convName + ".weight"))
            } catch let e as BihashError {
                throw BihashError.invalidArgument("EfficientNet-Lite0 weights: \(convName) / \(bn): \(e.message)")
            }
        }
        func pointwise(_ convName: String, _ bn: String, activation: ConvActivation) throws -> Conv2d {
            let (w, b) = try folded(convName, bn)
            return try Conv2d(weight: w, bias: b, stride: 1, activation: activation)
        }
        let (stemW, stemB) = try folded("_conv_stem", "_bn0")
        stem = try Conv2d(weight: stemW, bias: stemB, stride: 2, activation: .relu6)
        var blocks: [MBConvBlock] = []
        for (i, spec) in Self.blocks.enumerated() {
            let p = "_blocks.\(i)."
            let expand = spec.expansion == 1 ? nil : try pointwise(p + "_expand_conv", p + "_bn0", activation: .relu6)
            let (dw, db) = try folded(p + "_depthwise_conv", p + "_bn1")
            let depthwise = try DepthwiseConv2d(weight: dw, bias: db, stride: spec.stride, activation: .relu6)
            let project = try pointwise(p + "_project_conv", p + "_bn2", activation: .identity)
            blocks.append(MBConvBlock(spec: spec, expand: expand, depthwise: depthwise, project: project))
        }
        mbBlocks = blocks
        head = try pointwise("_conv_head", "_bn1", activation: .relu6)
        let fw = tensor("_fc.weight"), fb = tensor("_fc.bias")
        try require(fw.isFinite && fb.isFinite, "EfficientNet-Lite0 weights: _fc has non-finite values")
        fcWeight = fw
        fcBias = fb.scalars
    }

    /// Orders "_blocks.10.x" after "_blocks.9.x" (numbers compared as numbers) for readable messages.
    static func naturalOrder(_ a: String, _ b: String) -> Bool {
        a.compare(b, options: .numeric) == .orderedAscending
    }

    // MARK: - Inference

    /// The 1280-d pooled features of a batch of images.
    /// - Parameters:
    ///   - images: [N, H, W, 3], RGB in [−1, 1] (`BackbonePreprocessing`), H and W in `minimumSide...maximumSide`.
    ///   - threads: workers (≥ 1; default: the cores of this process). Each runs micro-batches of one or a few
    ///     images through the whole network on its own thread, taking the next one when it is done.
    /// - Returns: [N, 1280], the global average of the head's ReLU6 activations (values in [0, 6]).
    /// - Throws: `BihashError.invalidArgument` for another shape or side, or threads < 1.
    public func features(_ images: Tensor<Float>, threads: Int = Parallel.coreCount) throws -> Tensor<Float> {
        let (n, h, w) = try checkImages(images)
        try require(threads >= 1, "EfficientNet-Lite0: threads must be ≥ 1, got \(threads)")
        let d = Self.featureDimension
        var out = [Float](repeating: 0, count: n * d)
        if n == 0 { return Tensor(uncheckedShape: [0, d], scalars: out) }
        let plan = BufferPlan(network: self, height: h, width: w)
        let micro = plan.microBatch
        let items = (n + micro - 1) / micro
        let workers = Swift.min(threads, items)
        // Workers take the next micro-batch when they finish one, so a core slowed by other jobs holds up at most
        // one micro-batch. Each writes only the feature rows of its own images; results do not depend on which
        // worker computes which image.
        let queue = WorkQueue(count: items)
        images.scalars.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                let xBase = x.baseAddress!, yBase = y.baseAddress!
                let perImage = h * w * 3
                Parallel.forEachChunk(count: workers, threads: workers) { _, _ in
                    var workspace = workspaces.take(plan)
                    while let item = queue.next() {
                        let lo = item * micro, count = Swift.min(micro, n - lo)
                        forward(images: xBase + lo * perImage, batch: count, height: h, width: w,
                                workspace: &workspace, features: yBase + lo * d)
                    }
                    workspaces.give(workspace)
                }
            }
        }
        return Tensor(uncheckedShape: [n, d], scalars: out)
    }

    /// ImageNet logits [N, 1000] of a batch of images (see `features` for the arguments).
    public func logits(_ images: Tensor<Float>, threads: Int = Parallel.coreCount) throws -> Tensor<Float> {
        try logits(features: features(images, threads: threads))
    }

    /// ImageNet logits [N, 1000] from features [N, 1280]: f · `_fc.weight`ᵀ + `_fc.bias`.
    /// - Throws: `BihashError.invalidArgument` unless `features` is [N, 1280].
    public func logits(features: Tensor<Float>) throws -> Tensor<Float> {
        try require(features.rank == 2 && features.shape[1] == Self.featureDimension,
                    "EfficientNet-Lite0 logits need features [N, \(Self.featureDimension)], got \(features.shape)")
        var y = try Tensor.matmul(features, fcWeight, transposeB: true)
        let c = Self.classCount
        for i in 0..<features.shape[0] {
            for j in 0..<c { y.scalars[i * c + j] += fcBias[j] }
        }
        return y
    }

    /// (N, H, W) of a valid image batch.
    func checkImages(_ images: Tensor<Float>) throws -> (Int, Int, Int) {
        let s = images.shape
        try require(s.count == 4 && s[3] == 3,
                    "EfficientNet-Lite0 input must be [N, H, W, 3] (NHWC RGB in [−1, 1]), got shape \(s)")
        let range = Self.minimumSide...Self.maximumSide
        try require(range.contains(s[1]) && range.contains(s[2]),
                    "EfficientNet-Lite0 input images must be \(Self.minimumSide)...\(Self.maximumSide) pixels on each side, got \(s[1])×\(s[2])")
        return (s[0], s[1], s[2])
    }

    /// Features of `batch` images (one micro-batch) on the calling thread.
    func forward(images: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                 workspace: inout Workspace, features: UnsafeMutablePointer<Float>) {
        workspace.withBuffers { a, b, expanded, reduced, scratch in
            var (cur, next) = (a, b)
            var h = SamePadding(input: height, kernel: 3, stride: 2).output
            var w = SamePadding(input: width, kernel: 3, stride: 2).output
            stem.run(input: images, batch: batch, height: height, width: width, output: cur, scratch: scratch, residual: nil)
            for block in mbBlocks {
                block.run(input: cur, batch: batch, height: h, width: w, expanded: expanded, reduced: reduced, output: next)
                h = SamePadding(input: h, kernel: block.spec.kernel, stride: block.spec.stride).output
                w = SamePadding(input: w, kernel: block.spec.kernel, stride: block.spec.stride).output
                swap(&cur, &next)
            }
            head.run(input: cur, batch: batch, height: h, width: w, output: expanded, scratch: nil, residual: nil)
            GlobalAveragePool.run(input: expanded, batch: batch, pixels: h * w, channels: Self.featureDimension, output: features)
        }
    }
}
