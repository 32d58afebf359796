import BihashCore
import BihashNN

/// One inverted-residual (MBConv) block with BatchNorm folded in, forward only:
/// x → [1×1 expand + ReLU6] → k×k depthwise (stride s) + ReLU6 → 1×1 project (linear) → (+ x when the shapes match).
struct MBConvBlock: Sendable {
    let spec: EfficientNetLite0.BlockSpec
    /// nil when the expansion ratio is 1 (block 0).
    let expand: Conv2d?
    let depthwise: DepthwiseConv2d
    let project: Conv2d

    /// Runs the block on `batch` images of height × width: `input` → `output` (both NHWC), through `expanded`
    /// and `reduced` (the depthwise output). Buffers must not overlap and must be large enough.
    func run(input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
             expanded: UnsafeMutablePointer<Float>, reduced: UnsafeMutablePointer<Float>,
             output: UnsafeMutablePointer<Float>) {
        var dwInput = input
        if let expand {
            expand.run(input: input, batch: batch, height: height, width: width, output: expanded, scratch: nil, residual: nil)
            dwInput = UnsafePointer(expanded)
        }
        depthwise.run(input: dwInput, batch: batch, height: height, width: width, output: reduced)
        let oh = SamePadding(input: height, kernel: spec.kernel, stride: spec.stride).output
        let ow = SamePadding(input: width, kernel: spec.kernel, stride: spec.stride).output
        project.run(input: reduced, batch: batch, height: oh, width: ow, output: output, scratch: nil,
                    residual: spec.hasResidual ? input : nil)
    }
}
