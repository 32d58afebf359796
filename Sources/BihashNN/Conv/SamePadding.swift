import BihashCore

/// TensorFlow's "SAME" padding along one spatial dimension (EfficientNet's `Conv2dStaticSamePadding`).
///
/// The output has ⌈input / stride⌉ positions; the input is zero-padded by
/// total = max((output − 1)·stride + kernel − input, 0) positions, ⌊total/2⌋ before (top/left) and the rest
/// after (bottom/right). Output position o reads input positions o·stride − before + 0 ..< kernel.
///
/// ```swift
/// let p = SamePadding(input: 224, kernel: 3, stride: 2)   // output 112, before 0, after 1
/// ```
public struct SamePadding: Equatable, Sendable {
    /// Input positions (height or width).
    public let input: Int
    /// Output positions, ⌈input / stride⌉.
    public let output: Int
    /// Zeros added before the first input position (top or left).
    public let before: Int
    /// Zeros added after the last input position (bottom or right).
    public let after: Int

    /// The padding of a `kernel`-wide window moved by `stride` over `input` positions.
    /// Callers guarantee input ≥ 1, kernel ≥ 1, stride ≥ 1 (the layers check this before calling).
    public init(input: Int, kernel: Int, stride: Int) {
        let output = (input + stride - 1) / stride
        let total = Swift.max((output - 1) * stride + kernel - input, 0)
        self.input = input
        self.output = output
        self.before = total / 2
        self.after = total - total / 2
    }

    /// The first input position read by output position `o` (negative inside the top/left padding).
    @inline(__always)
    public func start(_ o: Int, stride: Int) -> Int { o * stride - before }
}
