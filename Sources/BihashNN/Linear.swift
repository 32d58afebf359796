import BihashCore

/// Fully connected layer y = x·Wᵀ + b, with W of shape [out, in] (PyTorch's layout, so weights export as is).
///
/// Initialisation follows PyTorch's `nn.Linear` default: W, b ~ U(−1/√in, 1/√in).
/// Parameters are named `<name>.weight` [out, in] and `<name>.bias` [out].
public final class Linear<T: TensorScalar>: Layer {
    public typealias Scalar = T
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter<T>
    public let bias: Parameter<T>
    private var input: Tensor<T>?
    /// When false, `backward` still accumulates the parameter gradients but skips ∂L/∂x (one gemm of
    /// N·in·out multiply-adds) and returns an empty [N, 0] tensor. Set it on a network's first layer,
    /// whose input gradient nobody uses.
    public var computesInputGradient = true

    /// A `Linear(inFeatures → outFeatures)` layer initialised from `rng` (weight first, then bias).
    public init(_ inFeatures: Int, _ outFeatures: Int, name: String = "linear", using rng: inout SeededGenerator) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = T(1) / T(Double(inFeatures).squareRoot())
        weight = Parameter(name: "\(name).weight", value: .uniform([outFeatures, inFeatures], low: -bound, high: bound, using: &rng))
        bias = Parameter(name: "\(name).bias", value: .uniform([outFeatures], low: -bound, high: bound, using: &rng))
    }

    // x: [N, in] → y: [N, out]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, training: Bool) throws -> Tensor<T> {
        try require(x.rank == 2 && x.cols == inFeatures, "\(summary): expected input [N, \(inFeatures)], got \(x.shape)")
        try require(weight.value.shape == [outFeatures, inFeatures] && bias.value.shape == [outFeatures],
                    "\(summary): parameter shapes \(weight.value.shape), \(bias.value.shape) do not match the layer")
        let n = x.rows, out = outFeatures
        // Broadcast the bias into every row of y, then y += x·Wᵀ in one gemm (β = 1).
        var y = Tensor<T>(uncheckedShape: [n, out], scalars: [T](unsafeUninitializedCapacity: n * out) { buf, count in
            bias.value.scalars.withUnsafeBufferPointer { b in
                for i in 0..<n { (buf.baseAddress! + i * out).initialize(from: b.baseAddress!, count: out) }
            }
            count = n * out
        })
        Tensor.gemm(x, weight.value, into: &y, transposeB: true, alpha: 1, beta: 1)
        if training { input = x }
        return y
    }

    // dy: [N, out] → dx: [N, in] (or [N, 0], see `computesInputGradient`);  dW += dyᵀ·x,  db += Σ_n dy
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let x = input else { throw BihashError.invalidState("\(summary): backward called before a training forward") }
        try require(gradOutput.shape == [x.rows, outFeatures], "\(summary): gradient shape \(gradOutput.shape) does not match output [\(x.rows), \(outFeatures)]")
        if weight.grad.shape != weight.value.shape || bias.grad.shape != bias.value.shape {
            weight.zeroGrad(); bias.zeroGrad()
        }
        Tensor.gemm(gradOutput, x, into: &weight.grad, transposeA: true, alpha: 1, beta: 1)
        let n = x.rows, out = outFeatures
        bias.grad.scalars.withUnsafeMutableBufferPointer { db in
            gradOutput.scalars.withUnsafeBufferPointer { dy in
                for i in 0..<n {
                    let row = i * out
                    for j in 0..<out { db[j] += dy[row + j] }
                }
            }
        }
        if !computesInputGradient { return Tensor(uncheckedShape: [n, 0], scalars: []) }
        var dx = Tensor<T>(zeros: [n, inFeatures])
        Tensor.gemm(gradOutput, weight.value, into: &dx, alpha: 1, beta: 0)
        return dx
    }

    public var parameters: [Parameter<T>] { [weight, bias] }
    public var summary: String { "Linear(\(inFeatures)→\(outFeatures))" }
}
