import BihashCore
import Foundation

/// The two-view augmentations of SDC's contrastive variant, for image rows (ALGORITHMS.md §2.2; the official
/// `cibhash` transforms adapted to small grayscale or RGB images given as rows of H·W·C values in [0, 1]):
///
/// - random resized crop: area scale in [0.5, 1], aspect ratio in [3/4, 4/3], resized back with bilinear
///   interpolation (pixel centres aligned, as `align_corners=False`);
/// - horizontal flip with probability ½;
/// - with probability 0.7, brightness and contrast jitter (factors in [0.6, 1.4]), clamped to [0, 1];
/// - colour-only steps of the original (saturation/hue jitter, random grayscale) apply to RGB input only and
///   are left out; Gaussian blur (k = 3) is left out for 28-pixel images, where it erases most detail.
public struct ImageAugmentation: Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int

    public init(width: Int, height: Int, channels: Int) throws {
        try require(width >= 2 && height >= 2 && channels >= 1, "augmentation needs images of at least 2×2 pixels, got \(width)×\(height)×\(channels)")
        self.width = width; self.height = height; self.channels = channels
    }

    /// One augmented view of every row of x: [N, H·W·C].
    public func apply(_ x: Tensor<Float>, using rng: inout SeededGenerator) -> Tensor<Float> {
        let w = width, h = height, c = channels, d = w * h * c
        var out = Tensor<Float>(zeros: [x.rows, d])
        for r in 0..<x.rows {
            // Random resized crop (torchvision's RandomResizedCrop sampling, 10 tries then the full image).
            var cropW = Double(w), cropH = Double(h), cx = 0.0, cy = 0.0
            for _ in 0..<10 {
                let area = Double(w * h) * (0.5 + 0.5 * rng.nextUniform())
                let logRatio = log(3.0 / 4.0) + (log(4.0 / 3.0) - log(3.0 / 4.0)) * rng.nextUniform()
                let ratio = exp(logRatio)
                let tw = (area * ratio).squareRoot(), th = (area / ratio).squareRoot()
                if tw <= Double(w) && th <= Double(h) {
                    cropW = tw; cropH = th
                    cx = (Double(w) - tw) * rng.nextUniform(); cy = (Double(h) - th) * rng.nextUniform()
                    break
                }
            }
            let flip = rng.nextUniform() < 0.5
            let jitter = rng.nextUniform() < 0.7
            let brightness = jitter ? Float(0.6 + 0.8 * rng.nextUniform()) : 1
            let contrast = jitter ? Float(0.6 + 0.8 * rng.nextUniform()) : 1
            let src = x.scalars, base = r * d
            var mean: Float = 0
            for i in 0..<d { mean += src[base + i] }
            mean /= Float(d)
            for oy in 0..<h {
                for ox in 0..<w {
                    // Output pixel centre → source coordinates inside the crop (bilinear, centres aligned).
                    let fx = cx + (Double(flip ? w - 1 - ox : ox) + 0.5) * cropW / Double(w) - 0.5
                    let fy = cy + (Double(oy) + 0.5) * cropH / Double(h) - 0.5
                    let x0 = max(0, min(w - 1, Int(fx.rounded(.down)))), y0 = max(0, min(h - 1, Int(fy.rounded(.down))))
                    let x1 = min(w - 1, x0 + 1), y1 = min(h - 1, y0 + 1)
                    let ax = Float(max(0, min(1, fx - Double(x0)))), ay = Float(max(0, min(1, fy - Double(y0))))
                    for channel in 0..<c {
                        func p(_ x: Int, _ y: Int) -> Float { src[base + (y * w + x) * c + channel] }
                        let top = p(x0, y0) * (1 - ax) + p(x1, y0) * ax
                        let bottom = p(x0, y1) * (1 - ax) + p(x1, y1) * ax
                        var v = top * (1 - ay) + bottom * ay
                        v = (v * brightness - mean * brightness) * contrast + mean * brightness  // brightness, then contrast about the mean
                        out.scalars[r * d + (oy * w + ox) * c + channel] = min(1, max(0, v))
                    }
                }
            }
        }
        return out
    }
}
