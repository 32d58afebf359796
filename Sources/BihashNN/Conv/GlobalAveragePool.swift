import BihashCore

/// Global average pooling of NHWC feature maps: y[n, c] = (1 / (H·W)) Σ_{y,x} x[n, y, x, c].
/// Inference only (no backward). Shapes: [N, H, W, C] → [N, C].
public enum GlobalAveragePool {
    /// The pooled [N, C] tensor.
    /// - Throws: `BihashError.invalidArgument` unless `input` is [N, H, W, C] with H, W ≥ 1.
    public static func pool(_ input: Tensor<Float>) throws -> Tensor<Float> {
        let s = input.shape
        try require(s.count == 4 && s[1] >= 1 && s[2] >= 1, "GlobalAveragePool input must be [N, H, W, C] with H, W ≥ 1, got \(s)")
        var out = [Float](repeating: 0, count: s[0] * s[3])
        input.scalars.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                run(input: x.baseAddress!, batch: s[0], pixels: s[1] * s[2], channels: s[3], output: y.baseAddress!)
            }
        }
        return Tensor(uncheckedShape: [s[0], s[3]], scalars: out)
    }

    /// On raw buffers: `input` holds batch·pixels·channels floats, `output` batch·channels.
    /// Sums in Float, eight channels at a time, then scales by 1/pixels.
    public static func run(input: UnsafePointer<Float>, batch: Int, pixels: Int, channels: Int,
                           output: UnsafeMutablePointer<Float>) {
        let scale = 1 / Float(pixels)
        for n in 0..<batch {
            let image = input + n * pixels * channels
            let y = output + n * channels
            var c = 0
            while c + 8 <= channels {
                var acc = SIMD8<Float>(repeating: 0)
                for p in 0..<pixels { acc += loadVector(image + p * channels + c) }
                storeVector(acc * scale, y + c)
                c += 8
            }
            while c < channels {
                var acc: Float = 0
                for p in 0..<pixels { acc += image[p * channels + c] }
                y[c] = acc * scale
                c += 1
            }
        }
    }
}
