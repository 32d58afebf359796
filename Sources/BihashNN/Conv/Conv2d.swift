import BihashCore

/// A 2-D convolution for inference on channel-last (NHWC) images, with TF "SAME" padding, a bias, an optional
/// residual and a fused activation. Forward only: bihash uses it in frozen backbones and never trains it, so
/// there is no backward pass.
///
/// Shapes: input [N, H, W, Cin] → output [N, ⌈H/s⌉, ⌈W/s⌉, Cout] (see `SamePadding`).
///
/// y[n, oy, ox, co] = activation(bias[co] + Σ_{ky,kx,ci} x[n, oy·s − top + ky, ox·s − left + kx, ci] · w[co, ci, ky, kx]
///                    (+ residual[n, oy, ox, co])), reading zeros outside the image.
///
/// Computed as a matrix product: the patch matrix P [pixels, k·k·Cin] times the weights as a [k·k·Cin, Cout]
/// matrix, with the bias, residual and activation fused (`PackedGEMM`). A 1×1 stride-1 convolution uses the input
/// itself, which in NHWC already is P; otherwise P is built (im2col) for a tile of output pixels at a time.
///
/// Thread safety: immutable; `run` may be called from several threads at once with separate buffers. It uses no
/// BLAS library, so it does not depend on or change OpenBLAS's thread settings.
public struct Conv2d: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    /// Square kernel side k.
    public let kernelSize: Int
    public let stride: Int
    public let activation: ConvActivation
    /// The weights as a [k·k·Cin, Cout] matrix (row (ky·k + kx)·Cin + ci, column co: HWIO order) and the bias
    /// (zeros when the convolution has none), packed for the matrix product.
    let product: PackedGEMM

    /// Patch-matrix floats per tile (128 KB), so that the tile stays in L2 while the product reads it.
    static let tileFloats = 32 * 1024

    /// A convolution from PyTorch-ordered weights.
    /// - Parameters:
    ///   - weight: [Cout, Cin, k, k] (PyTorch `Conv2d.weight`, square kernel).
    ///   - bias: [Cout], or nil for none.
    ///   - stride: ≥ 1, the same along height and width.
    /// - Throws: `BihashError.invalidArgument` for any other shape, a stride < 1 or non-finite weights.
    public init(weight: Tensor<Float>, bias: Tensor<Float>? = nil, stride: Int = 1,
                activation: ConvActivation = .identity) throws {
        let s = weight.shape
        try require(s.count == 4 && s[0] >= 1 && s[1] >= 1 && s[2] >= 1 && s[2] == s[3],
                    "Conv2d weight must be [Cout, Cin, k, k] with a square kernel, got \(s)")
        try require(stride >= 1, "Conv2d stride must be ≥ 1, got \(stride)")
        try require(weight.isFinite, "Conv2d weight has non-finite values")
        let (cout, cin, k) = (s[0], s[1], s[2])
        if let bias {
            try require(bias.shape == [cout], "Conv2d bias must be [\(cout)], got \(bias.shape)")
            try require(bias.isFinite, "Conv2d bias has non-finite values")
        }
        var hwio = [Float](repeating: 0, count: k * k * cin * cout)
        for co in 0..<cout {
            for ci in 0..<cin {
                for ky in 0..<k {
                    for kx in 0..<k {
                        hwio[((ky * k + kx) * cin + ci) * cout + co] = weight.scalars[((co * cin + ci) * k + ky) * k + kx]
                    }
                }
            }
        }
        self.inChannels = cin
        self.outChannels = cout
        self.kernelSize = k
        self.stride = stride
        self.activation = activation
        self.product = PackedGEMM(rowMajor: hwio, k: k * k * cin, n: cout,
                                  bias: bias?.scalars ?? [Float](repeating: 0, count: cout))
    }

    /// Whether the input already is the patch matrix (1×1 kernel, stride 1).
    public var isPointwise: Bool { kernelSize == 1 && stride == 1 }

    /// Output pixels per im2col tile: a multiple of 6 (the product's row block), 6…240.
    var tilePixels: Int {
        let rows = Conv2d.tileFloats / (kernelSize * kernelSize * inChannels)
        return Swift.max(6, Swift.min(240, rows) / 6 * 6)
    }

    /// Floats of scratch `run` needs (the patch tile; 0 for a pointwise convolution).
    public var scratchCount: Int { isPointwise ? 0 : tilePixels * kernelSize * kernelSize * inChannels }

    /// [N, H, W, Cin] → [N, ⌈H/s⌉, ⌈W/s⌉, Cout], allocating the output.
    /// - Throws: `BihashError.invalidArgument` unless `input` is [N, H, W, Cin] with N ≥ 0 and H, W ≥ 1;
    ///   `residual` must have the output's shape.
    public func callAsFunction(_ input: Tensor<Float>, residual: Tensor<Float>? = nil) throws -> Tensor<Float> {
        let s = input.shape
        try require(s.count == 4 && s[1] >= 1 && s[2] >= 1 && s[3] == inChannels,
                    "Conv2d input must be [N, H, W, \(inChannels)] with H, W ≥ 1, got \(s)")
        let (n, h, w) = (s[0], s[1], s[2])
        let ph = SamePadding(input: h, kernel: kernelSize, stride: stride)
        let pw = SamePadding(input: w, kernel: kernelSize, stride: stride)
        let outShape = [n, ph.output, pw.output, outChannels]
        if let residual { try require(residual.shape == outShape, "Conv2d residual must be \(outShape), got \(residual.shape)") }
        var out = [Float](repeating: 0, count: outShape.reduce(1, *))
        var scratch = [Float](repeating: 0, count: scratchCount)
        input.scalars.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                scratch.withUnsafeMutableBufferPointer { p in
                    if let residual {
                        residual.scalars.withUnsafeBufferPointer { r in
                            run(input: x.baseAddress!, batch: n, height: h, width: w, output: y.baseAddress!,
                                scratch: p.baseAddress, residual: r.baseAddress)
                        }
                    } else {
                        run(input: x.baseAddress!, batch: n, height: h, width: w, output: y.baseAddress!,
                            scratch: p.baseAddress, residual: nil)
                    }
                }
            }
        }
        return Tensor(uncheckedShape: outShape, scalars: out)
    }

    /// The convolution on raw buffers, on the calling thread.
    /// - Parameters:
    ///   - input: N·H·W·Cin floats, NHWC.
    ///   - output: N·Ho·Wo·Cout floats, written (must not overlap `input` or `residual`).
    ///   - scratch: `scratchCount` floats (nil allowed when it is 0).
    ///   - residual: nil, or N·Ho·Wo·Cout floats added before the activation.
    /// Callers guarantee the sizes; nothing is checked here.
    public func run(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                    output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>?,
                    residual: UnsafePointer<Float>?) {
        let ph = SamePadding(input: height, kernel: kernelSize, stride: stride)
        let pw = SamePadding(input: width, kernel: kernelSize, stride: stride)
        let total = batch * ph.output * pw.output
        let cout = outChannels
        if isPointwise {
            product.run(a: input, lda: inChannels, m: total, residual: residual, c: output, ldc: cout, activation: activation)
            return
        }
        let kdim = kernelSize * kernelSize * inChannels
        let tile = tilePixels
        var start = 0
        while start < total {
            let count = Swift.min(tile, total - start)
            im2col(input: input, height: height, width: width, ph: ph, pw: pw, pixels: start..<(start + count), into: scratch!)
            product.run(a: scratch!, lda: kdim, m: count, residual: residual.map { $0 + start * cout },
                        c: output + start * cout, ldc: cout, activation: activation)
            start += count
        }
    }

    /// Patch rows for output pixels `pixels` (flat over batch, rows, columns): row p holds, for each (ky, kx),
    /// the Cin input values the kernel tap reads, or zeros where it falls in the padding.
    private func im2col(input: UnsafePointer<Float>, height: Int, width: Int, ph: SamePadding, pw: SamePadding,
                pixels: Range<Int>, into patches: UnsafeMutablePointer<Float>) {
        let k = kernelSize, cin = inChannels, kdim = k * k * cin
        let perImage = ph.output * pw.output
        for p in pixels {
            let n = p / perImage, rem = p % perImage
            let oy = rem / pw.output, ox = rem % pw.output
            let iy0 = ph.start(oy, stride: stride), ix0 = pw.start(ox, stride: stride)
            var dst = patches + (p - pixels.lowerBound) * kdim
            let image = input + n * height * width * cin
            for ky in 0..<k {
                let iy = iy0 + ky
                if iy < 0 || iy >= height {
                    dst.update(repeating: 0, count: k * cin)
                    dst += k * cin
                    continue
                }
                let row = image + iy * width * cin
                // Columns [ix0, ix0 + k) clipped to the image; zeros on either side.
                let lo = Swift.max(0, -ix0), hi = Swift.max(lo, Swift.min(k, width - ix0))
                if lo > 0 { dst.update(repeating: 0, count: lo * cin) }
                if hi > lo { (dst + lo * cin).update(from: row + (ix0 + lo) * cin, count: (hi - lo) * cin) }
                if hi < k { (dst + hi * cin).update(repeating: 0, count: (k - hi) * cin) }
                dst += k * cin
            }
        }
    }
}
