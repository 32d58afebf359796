import BihashCore

/// Fully connected layer y = x·Wᵀ + b, with W of shape [out, in] (PyTorch's layout, so weights export as is).
///
/// Initialisation follows PyTorch's `nn.Linear` default: W, b ~ U(−1/√in, 1/√in).
public final class Linear<T: TensorScalar>: Layer {
    public typealias Scalar = T
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter<T>
    public let bias: Parameter<T>
    private var input: Tensor<T>?

    public init(_ inFeatures: Int, _ outFeatures: Int, name: String = "linear", using rng: inout SeededGenerator) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = T(1) / T(Double(inFeatures).squareRoot())
        weight = Parameter(name: "\(name).weight", value: .uniform([outFeatures, inFeatures], low: -bound, high: bound, using: &rng))
        bias = Parameter(name: "\(name).bias", value: .uniform([outFeatures], low: -bound, high: bound, using: &rng))
    }

    // x: [N, in] → y: [N, out]
    public func forward(_ x: Tensor<T>, training: Bool) throws -> Tensor<T> {
        try require(x.rank == 2 && x.cols == inFeatures, "\(summary): expected input [N, \(inFeatures)], got \(x.shape)")
        var y = Tensor<T>(zeros: [x.rows, outFeatures])
        // Broadcast the bias into y, then y += x·Wᵀ in one sgemm (β = 1).
        y.scalars.withUnsafeMutableBufferPointer { out in
            bias.value.scalars.withUnsafeBufferPointer { b in
                for i in 0..<x.rows { (out.baseAddress! + i * outFeatures).update(from: b.baseAddress!, count: outFeatures) }
            }
        }
        Tensor.gemm(x, weight.value, into: &y, transposeB: true, alpha: 1, beta: 1)
        if training { input = x }
        return y
    }

    // dy: [N, out] → dx: [N, in];  dW += dyᵀ·x,  db += Σ_n dy
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let x = input else { throw BihashError.invalidState("\(summary): backward called before a training forward") }
        try require(gradOutput.shape == [x.rows, outFeatures], "\(summary): gradient shape \(gradOutput.shape) does not match output [\(x.rows), \(outFeatures)]")
        Tensor.gemm(gradOutput, x, into: &weight.grad, transposeA: true, alpha: 1, beta: 1)
        bias.grad.add(gradOutput.sumRows())
        var dx = Tensor<T>(zeros: [x.rows, inFeatures])
        Tensor.gemm(gradOutput, weight.value, into: &dx, alpha: 1, beta: 0)
        return dx
    }

    public var parameters: [Parameter<T>] { [weight, bias] }
    public var summary: String { "Linear(\(inFeatures)→\(outFeatures))" }
}
