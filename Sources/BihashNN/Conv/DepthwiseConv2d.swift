import BihashCore

/// A depthwise 2-D convolution (one k×k filter per channel, PyTorch `groups = channels`) for inference on NHWC
/// images, with TF "SAME" padding, a bias and a fused activation. Forward only: used in frozen backbones, never
/// trained, so there is no backward pass.
///
/// Shapes: input [N, H, W, C] → output [N, ⌈H/s⌉, ⌈W/s⌉, C].
///
/// y[n, oy, ox, c] = activation(bias[c] + Σ_{ky,kx} x[n, oy·s − top + ky, ox·s − left + kx, c] · w[c, 0, ky, kx]),
/// taps outside the image skipped (zero padding).
///
/// A direct kernel: channels are contiguous in NHWC, so output pixels accumulate their taps 8–32 channels at a time
/// in SIMD8 registers (AVX2 FMA). Inside the image four neighbouring pixels are computed together and share each
/// weight load; at the borders each pixel's tap range is clipped to the image once; leftover channels run scalar.
///
/// Thread safety: immutable; `run` may be called from several threads at once with separate buffers.
public struct DepthwiseConv2d: Sendable {
    public let channels: Int
    public let kernelSize: Int
    public let stride: Int
    public let activation: ConvActivation
    /// Weights [k, k, C] row-major: tap (ky, kx) of channel c at (ky·k + kx)·C + c.
    public let weight: [Float]
    /// Bias [C] (zeros when there is none).
    public let bias: [Float]

    /// A depthwise convolution from PyTorch-ordered weights.
    /// - Parameters:
    ///   - weight: [C, 1, k, k] (PyTorch `Conv2d(C, C, k, groups: C).weight`, square kernel).
    ///   - bias: [C], or nil for none.
    ///   - stride: ≥ 1, the same along height and width.
    /// - Throws: `BihashError.invalidArgument` for any other shape, a stride < 1 or non-finite weights.
    public init(weight: Tensor<Float>, bias: Tensor<Float>? = nil, stride: Int = 1,
                activation: ConvActivation = .identity) throws {
        let s = weight.shape
        try require(s.count == 4 && s[0] >= 1 && s[1] == 1 && s[2] >= 1 && s[2] == s[3],
                    "DepthwiseConv2d weight must be [C, 1, k, k] with a square kernel, got \(s)")
        try require(stride >= 1, "DepthwiseConv2d stride must be ≥ 1, got \(stride)")
        try require(weight.isFinite, "DepthwiseConv2d weight has non-finite values")
        let (c, k) = (s[0], s[2])
        if let bias {
            try require(bias.shape == [c], "DepthwiseConv2d bias must be [\(c)], got \(bias.shape)")
            try require(bias.isFinite, "DepthwiseConv2d bias has non-finite values")
        }
        var hwc = [Float](repeating: 0, count: k * k * c)
        for ch in 0..<c {
            for t in 0..<(k * k) { hwc[t * c + ch] = weight.scalars[ch * k * k + t] }
        }
        self.channels = c
        self.kernelSize = k
        self.stride = stride
        self.activation = activation
        self.weight = hwc
        self.bias = bias?.scalars ?? [Float](repeating: 0, count: c)
    }

    /// [N, H, W, C] → [N, ⌈H/s⌉, ⌈W/s⌉, C], allocating the output.
    /// - Throws: `BihashError.invalidArgument` unless `input` is [N, H, W, C] with H, W ≥ 1.
    public func callAsFunction(_ input: Tensor<Float>) throws -> Tensor<Float> {
        let s = input.shape
        try require(s.count == 4 && s[1] >= 1 && s[2] >= 1 && s[3] == channels,
                    "DepthwiseConv2d input must be [N, H, W, \(channels)] with H, W ≥ 1, got \(s)")
        let (n, h, w) = (s[0], s[1], s[2])
        let oh = SamePadding(input: h, kernel: kernelSize, stride: stride).output
        let ow = SamePadding(input: w, kernel: kernelSize, stride: stride).output
        var out = [Float](repeating: 0, count: n * oh * ow * channels)
        input.scalars.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                run(input: x.baseAddress!, batch: n, height: h, width: w, output: y.baseAddress!)
            }
        }
        return Tensor(uncheckedShape: [n, oh, ow, channels], scalars: out)
    }

    /// The convolution on raw buffers, on the calling thread.
    /// - Parameters:
    ///   - input: N·H·W·C floats, NHWC.
    ///   - output: N·Ho·Wo·C floats, written (must not overlap `input`).
    /// Callers guarantee the sizes; nothing is checked here.
    public func run(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                    output: UnsafeMutablePointer<Float>) {
        let oh = SamePadding(input: height, kernel: kernelSize, stride: stride).output
        let ow = SamePadding(input: width, kernel: kernelSize, stride: stride).output
        for n in 0..<batch {
            runRows(0..<oh, input: input + n * height * width * channels, firstInputRow: 0, height: height, width: width,
                    output: output + n * oh * ow * channels)
        }
    }

    /// Output rows `rows` of one H × W image whose input rows are only partly in memory (a band of a larger
    /// image, as when a block computes its expansion a few rows at a time).
    /// - Parameters:
    ///   - input: the image's input rows from `firstInputRow` on, W·C floats each; they must include every row
    ///     the output rows read (rows·s − top … (last row)·s − top + k − 1, clipped to 0..<H).
    ///   - output: rows.count · Wo · C floats, written (output row `rows.lowerBound` first).
    public func runRows(_ rows: Range<Int>, input: UnsafePointer<Float>, firstInputRow: Int, height: Int, width: Int,
                        output: UnsafeMutablePointer<Float>) {
        let ph = SamePadding(input: height, kernel: kernelSize, stride: stride)
        let pw = SamePadding(input: width, kernel: kernelSize, stride: stride)
        let k = kernelSize, c = channels, s = stride
        // Columns whose k taps all lie inside the image: ox·s − left ≥ 0 and ox·s − left + k ≤ W.
        let interiorLo = Swift.min(pw.output, (pw.before + s - 1) / s)
        let room = width - k + pw.before
        let interiorHi = room < 0 ? interiorLo : Swift.max(interiorLo, Swift.min(pw.output, room / s + 1))
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                for oy in rows {
                    let iy0 = ph.start(oy, stride: s)
                    let kyLo = Swift.max(0, -iy0), kyHi = Swift.min(k, height - iy0)
                    let outRow = output + (oy - rows.lowerBound) * pw.output * c
                    var ox = 0
                    while ox < pw.output {
                        if ox >= interiorLo && interiorHi - interiorLo >= 4 && ox < interiorHi {
                            // Four neighbouring output pixels share each weight load; the last group of the interior
                            // starts at interiorHi − 4 and recomputes a few pixels (same values) instead of
                            // leaving them to the one-pixel kernel.
                            let q = Swift.min(ox, interiorHi - 4)
                            let tapBase = input + ((iy0 - firstInputRow) * width + pw.start(q, stride: s)) * c
                            depthwiseQuad(tapBase: tapBase, pixelStride: s * c, rowStride: width * c, channels: c,
                                          kernel: k, ky: kyLo, kyEnd: kyHi, weight: w.baseAddress!,
                                          bias: b.baseAddress!, output: outRow + q * c, activation: activation)
                            ox = q + 4
                            continue
                        }
                        // Tap (y, x) of channel ch reads tapBase[(y·W + x)·C + ch] with weight w[(y·k + x)·C + ch].
                        let ix0 = pw.start(ox, stride: s)
                        let tapBase = input + ((iy0 - firstInputRow) * width + ix0) * c
                        let kxLo = Swift.max(0, -ix0), kxHi = Swift.min(k, width - ix0)
                        depthwisePixel(tapBase: tapBase, rowStride: width * c, channels: c, kernel: k,
                                       ky: kyLo, kyEnd: kyHi, kx: kxLo, kxEnd: kxHi,
                                       weight: w.baseAddress!, bias: b.baseAddress!,
                                       output: outRow + ox * c, activation: activation)
                        ox += 1
                    }
                }
            }
        }
    }
}

/// Four output pixels of one row, all channels, every column tap inside the image (rows ky..<kyEnd): pixel q's
/// taps start at tapBase + q·pixelStride. Sixteen channels at a time in eight SIMD8 accumulators, each weight
/// load shared by the four pixels; then eight, then single channels via `depthwisePixel`.
@inline(__always)
func depthwiseQuad(tapBase: UnsafePointer<Float>, pixelStride: Int, rowStride: Int, channels c: Int, kernel k: Int,
                   ky: Int, kyEnd: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                   output: UnsafeMutablePointer<Float>, activation: ConvActivation) {
    let s1 = pixelStride, s2 = 2 &* pixelStride, s3 = 3 &* pixelStride
    var ch = 0
    while ch &+ 16 <= c {
        let bias0 = loadVector(bias + ch), bias1 = loadVector(bias + (ch &+ 8))
        var p00 = bias0, p01 = bias1, p10 = bias0, p11 = bias1, p20 = bias0, p21 = bias1, p30 = bias0, p31 = bias1
        var y = ky
        while y < kyEnd {
            var src = tapBase + (y &* rowStride &+ ch)
            var wt = weight + (y &* k &* c &+ ch)
            var x = 0
            while x < k {
                let w0 = loadVector(wt), w1 = loadVector(wt + 8)
                p00 = p00.addingProduct(loadVector(src), w0)
                p01 = p01.addingProduct(loadVector(src + 8), w1)
                p10 = p10.addingProduct(loadVector(src + s1), w0)
                p11 = p11.addingProduct(loadVector(src + (s1 &+ 8)), w1)
                p20 = p20.addingProduct(loadVector(src + s2), w0)
                p21 = p21.addingProduct(loadVector(src + (s2 &+ 8)), w1)
                p30 = p30.addingProduct(loadVector(src + s3), w0)
                p31 = p31.addingProduct(loadVector(src + (s3 &+ 8)), w1)
                src += c
                wt += c
                x &+= 1
            }
            y &+= 1
        }
        if activation == .relu6 {
            p00 = relu6(p00); p01 = relu6(p01); p10 = relu6(p10); p11 = relu6(p11)
            p20 = relu6(p20); p21 = relu6(p21); p30 = relu6(p30); p31 = relu6(p31)
        }
        storeVector(p00, output + ch); storeVector(p01, output + (ch &+ 8))
        storeVector(p10, output + (c &+ ch)); storeVector(p11, output + (c &+ ch &+ 8))
        storeVector(p20, output + (2 &* c &+ ch)); storeVector(p21, output + (2 &* c &+ ch &+ 8))
        storeVector(p30, output + (3 &* c &+ ch)); storeVector(p31, output + (3 &* c &+ ch &+ 8))
        ch &+= 16
    }
    if ch < c {
        // The remaining channels (C not a multiple of 16), pixel by pixel.
        for q in 0..<4 {
            depthwisePixel(tapBase: tapBase + q &* pixelStride, rowStride: rowStride, channels: c, kernel: k,
                           ky: ky, kyEnd: kyEnd, kx: 0, kxEnd: k, weight: weight, bias: bias,
                           output: output + q &* c, activation: activation, firstChannel: ch)
        }
    }
}

/// One output pixel of a depthwise convolution, channels firstChannel..<C, taps y in ky..<kyEnd, x in kx..<kxEnd
/// (inside the image). Channels go 32 at a time in four independent SIMD8 accumulators (so the additions do not wait on each
/// other), then 8 at a time, then one at a time.
@inline(__always)
func depthwisePixel(tapBase: UnsafePointer<Float>, rowStride: Int, channels c: Int, kernel k: Int,
                    ky: Int, kyEnd: Int, kx: Int, kxEnd: Int, weight: UnsafePointer<Float>,
                    bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, activation: ConvActivation,
                    firstChannel: Int = 0) {
    var ch = firstChannel
    while ch &+ 32 <= c {
        var a0 = loadVector(bias + ch), a1 = loadVector(bias + (ch &+ 8))
        var a2 = loadVector(bias + (ch &+ 16)), a3 = loadVector(bias + (ch &+ 24))
        var y = ky
        while y < kyEnd {
            var x = kx
            var src = tapBase + (y &* rowStride &+ x &* c &+ ch)
            var wt = weight + ((y &* k &+ x) &* c &+ ch)
            while x < kxEnd {
                a0 = a0.addingProduct(loadVector(src), loadVector(wt))
                a1 = a1.addingProduct(loadVector(src + 8), loadVector(wt + 8))
                a2 = a2.addingProduct(loadVector(src + 16), loadVector(wt + 16))
                a3 = a3.addingProduct(loadVector(src + 24), loadVector(wt + 24))
                src += c
                wt += c
                x &+= 1
            }
            y &+= 1
        }
        if activation == .relu6 { a0 = relu6(a0); a1 = relu6(a1); a2 = relu6(a2); a3 = relu6(a3) }
        storeVector(a0, output + ch)
        storeVector(a1, output + (ch &+ 8))
        storeVector(a2, output + (ch &+ 16))
        storeVector(a3, output + (ch &+ 24))
        ch &+= 32
    }
    while ch &+ 8 <= c {
        var acc = loadVector(bias + ch)
        var y = ky
        while y < kyEnd {
            var x = kx
            var src = tapBase + (y &* rowStride &+ x &* c &+ ch)
            var wt = weight + ((y &* k &+ x) &* c &+ ch)
            while x < kxEnd {
                acc = acc.addingProduct(loadVector(src), loadVector(wt))
                src += c
                wt += c
                x &+= 1
            }
            y &+= 1
        }
        if activation == .relu6 { acc = relu6(acc) }
        storeVector(acc, output + ch)
        ch &+= 8
    }
    while ch < c {
        var acc = bias[ch]
        var y = ky
        while y < kyEnd {
            var x = kx
            while x < kxEnd {
                acc += tapBase[y &* rowStride &+ x &* c &+ ch] * weight[(y &* k &+ x) &* c &+ ch]
                x &+= 1
            }
            y &+= 1
        }
        output[ch] = activation.apply(acc)
        ch &+= 1
    }
}
