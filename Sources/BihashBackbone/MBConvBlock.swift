import BihashCore
import BihashNN
import Foundation

/// One inverted-residual (MBConv) block with BatchNorm folded in, forward only:
/// x → [1×1 expand + ReLU6] → k×k depthwise (stride s) + ReLU6 → 1×1 project (linear) → (+ x when the shapes match).
///
/// Large feature maps run in bands of output rows: the expansion of the input rows a band needs, the depthwise
/// rows and their projection follow each other while the band is in L2, so the expanded map (6× the input
/// channels) never travels to memory; expanded rows shared by consecutive bands are kept, not recomputed.
/// Measured at 224 px, one thread: block 1 (112×112×96 expanded) 1.8 → 1.0 ms per image, blocks 0–3 together
/// about 7% of the network's time saved; banding the smaller maps too (28×28 and below) was slower.
struct MBConvBlock: Sendable {
    let spec: EfficientNetLite0.BlockSpec
    /// nil when the expansion ratio is 1 (block 0).
    let expand: Conv2d?
    let depthwise: DepthwiseConv2d
    let project: Conv2d

    /// Floats of expanded and depthwise-output rows one band may hold (256 KB, half of L2).
    static let bandFloats = 64 * 1024
    /// Expanded maps (batch · H · W · E floats) up to this size (1 MB) run whole; larger ones in bands.
    static let wholeMapFloats = 256 * 1024

    /// Output rows per band, or nil when `batch` maps of height × width run whole.
    func bandRows(batch: Int, height: Int, width: Int) -> Int? {
        let e = spec.expandedChannels
        guard batch * height * width * e > MBConvBlock.wholeMapFloats else { return nil }
        let oh = SamePadding(input: height, kernel: spec.kernel, stride: spec.stride).output
        let ow = SamePadding(input: width, kernel: spec.kernel, stride: spec.stride).output
        var rows = 1
        while rows < oh && (rows * spec.stride + spec.kernel) * width * e + (rows + 1) * ow * e <= MBConvBlock.bandFloats {
            rows += 1
        }
        return rows < oh ? rows : nil
    }

    /// Floats `run` needs in `expanded` and `reduced` for `batch` images of height × width.
    func bufferNeeds(batch: Int, height: Int, width: Int) -> (expanded: Int, reduced: Int) {
        let e = spec.expandedChannels
        let oh = SamePadding(input: height, kernel: spec.kernel, stride: spec.stride).output
        let ow = SamePadding(input: width, kernel: spec.kernel, stride: spec.stride).output
        if let rows = bandRows(batch: batch, height: height, width: width) {
            let inputRows = Swift.min(height, (rows - 1) * spec.stride + spec.kernel)
            return (expand == nil ? 0 : inputRows * width * e, rows * ow * e)
        }
        return (expand == nil ? 0 : batch * height * width * e, batch * oh * ow * e)
    }

    /// Runs the block on `batch` images of height × width: `input` → `output` (both NHWC), through `expanded`
    /// and `reduced` (the depthwise output), sized by `bufferNeeds`. Buffers must not overlap.
    func run(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
             expanded: UnsafeMutablePointer<Float>, reduced: UnsafeMutablePointer<Float>,
             output: UnsafeMutablePointer<Float>) {
        let oh = SamePadding(input: height, kernel: spec.kernel, stride: spec.stride).output
        let ow = SamePadding(input: width, kernel: spec.kernel, stride: spec.stride).output
        guard let band = bandRows(batch: batch, height: height, width: width) else {
            var dwInput = input
            if let expand {
                expand.run(input: input, batch: batch, height: height, width: width, output: expanded, scratch: nil, residual: nil)
                dwInput = UnsafePointer(expanded)
            }
            depthwise.run(input: dwInput, batch: batch, height: height, width: width, output: reduced)
            project.run(input: reduced, batch: batch, height: oh, width: ow, output: output, scratch: nil,
                        residual: spec.hasResidual ? input : nil)
            return
        }
        let top = SamePadding(input: height, kernel: spec.kernel, stride: spec.stride).before
        let cin = spec.inChannels, cout = spec.outChannels
        let rowFloats = width * spec.expandedChannels
        for n in 0..<batch {
            let x = input + n * height * width * cin, y = output + n * oh * ow * cout
            // `expanded` holds the expanded input rows [held.lowerBound, held.upperBound).
            var held = 0..<0
            var r0 = 0
            while r0 < oh {
                let r1 = Swift.min(oh, r0 + band)
                let needed = Swift.max(0, r0 * spec.stride - top)..<Swift.min(height, (r1 - 1) * spec.stride - top + spec.kernel)
                var dwInput = x, firstRow = 0
                if let expand {
                    // Keep the rows the previous band already expanded (moved to the top), expand the rest.
                    let kept = Swift.max(0, held.upperBound - needed.lowerBound)
                    if kept > 0 && needed.lowerBound > held.lowerBound {
                        memmove(expanded, expanded + (needed.lowerBound - held.lowerBound) * rowFloats,
                                kept * rowFloats * MemoryLayout<Float>.stride)
                    }
                    let from = needed.lowerBound + kept
                    if from < needed.upperBound {
                        expand.run(input: x + from * width * cin, batch: 1, height: needed.upperBound - from, width: width,
                                   output: expanded + kept * rowFloats, scratch: nil, residual: nil)
                    }
                    held = needed
                    dwInput = UnsafePointer(expanded)
                    firstRow = needed.lowerBound
                }
                depthwise.runRows(r0..<r1, input: dwInput, firstInputRow: firstRow, height: height, width: width,
                                  output: reduced)
                project.run(input: reduced, batch: 1, height: r1 - r0, width: ow, output: y + r0 * ow * cout,
                            scratch: nil, residual: spec.hasResidual ? x + r0 * ow * cin : nil)
                r0 = r1
            }
        }
    }
}
