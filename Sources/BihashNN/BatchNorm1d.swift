import BihashCore

/// Batch normalisation over the batch dimension of [N, D] inputs, with PyTorch's `nn.BatchNorm1d` semantics.
///
/// - Training: each feature j is normalised with the batch mean μ_j and the **biased** batch variance
///   σ²_j = (1/N)·Σ_i (x_ij − μ_j)²:  y = γ·(x − μ)/√(σ² + eps) + β. The running statistics are then updated
///   with `momentum` m using the **unbiased** variance: running_mean ← (1 − m)·running_mean + m·μ,
///   running_var ← (1 − m)·running_var + m·σ²·N/(N − 1). Training needs N ≥ 2 (as PyTorch).
/// - Eval: y = γ·(x − running_mean)/√(running_var + eps) + β.
///
/// Parameters (trainable): `<name>.weight` (γ, init 1) and `<name>.bias` (β, init 0), both [D].
/// Buffers (non-trainable, in `buffers`, saved with the weights): `<name>.running_mean` (init 0) and
/// `<name>.running_var` (init 1), both [D] — PyTorch's `state_dict` names. PyTorch's integer
/// `num_batches_tracked` is exposed as `numBatchesTracked` but is not a buffer (it does not affect outputs
/// when `momentum` is set).
public final class BatchNorm1d<T: TensorScalar>: Layer {
    public typealias Scalar = T
    public let numFeatures: Int
    /// Added to the variance before the square root (PyTorch default 1e-5).
    public let eps: Double
    /// Weight of the new batch statistic in the running averages (PyTorch default 0.1).
    public let momentum: Double
    /// γ: [D].
    public let weight: Parameter<T>
    /// β: [D].
    public let bias: Parameter<T>
    /// Running mean: [D] (buffer).
    public let runningMean: Parameter<T>
    /// Running variance (unbiased): [D] (buffer).
    public let runningVar: Parameter<T>
    /// Number of training batches seen (PyTorch's `num_batches_tracked`).
    public private(set) var numBatchesTracked = 0
    /// Cached by a training forward: x̂ = (x − μ)/√(σ² + eps) [N, D] and 1/√(σ² + eps) [D].
    private var cache: (xHat: Tensor<T>, invStd: [T])?

    /// A batch norm over `numFeatures` features; `name` prefixes the parameter and buffer names.
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double = 0.1, name: String = "bn") {
        self.numFeatures = numFeatures
        self.eps = eps
        self.momentum = momentum
        weight = Parameter(name: "\(name).weight", value: Tensor(zeros: [numFeatures], value: 1))
        bias = Parameter(name: "\(name).bias", value: Tensor(zeros: [numFeatures]))
        runningMean = Parameter(name: "\(name).running_mean", value: Tensor(zeros: [numFeatures]))
        runningVar = Parameter(name: "\(name).running_var", value: Tensor(zeros: [numFeatures], value: 1))
    }

    // x: [N, D] → y: [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, training: Bool) throws -> Tensor<T> {
        let d = numFeatures
        try require(x.rank == 2 && x.cols == d, "\(summary): expected input [N, \(d)], got \(x.shape)")
        for p in [weight, bias, runningMean, runningVar] {
            try require(p.value.shape == [d], "\(summary): \(p.name) has shape \(p.value.shape), expected [\(d)]")
        }
        let n = x.rows
        if training {
            try require(n >= 2, "\(summary): training needs more than one sample per batch, got N = \(n)")
        }
        let mean: [T], invStd: [T]
        if training {
            let (mu, biasedVar) = BatchNorm1d.columnStatistics(x)
            mean = mu
            invStd = biasedVar.map { 1 / ($0 + T(eps)).squareRoot() }
            // Running statistics use the unbiased variance σ²·N/(N − 1), as PyTorch.
            let m = T(momentum), unbias = T(Double(n) / Double(n - 1))
            for j in 0..<d {
                runningMean.value.scalars[j] = (1 - m) * runningMean.value.scalars[j] + m * mu[j]
                runningVar.value.scalars[j] = (1 - m) * runningVar.value.scalars[j] + m * biasedVar[j] * unbias
            }
            numBatchesTracked += 1
        } else {
            mean = runningMean.value.scalars
            invStd = runningVar.value.scalars.map { 1 / ($0 + T(eps)).squareRoot() }
        }
        // y = γ·x̂ + β with x̂ = (x − μ)·invStd; training keeps x̂ for backward.
        var xHat = [T]()
        if training {
            xHat = [T](unsafeUninitializedCapacity: n * d) { buf, c in
                x.scalars.withUnsafeBufferPointer { xs in
                    mean.withUnsafeBufferPointer { mu in
                        invStd.withUnsafeBufferPointer { inv in
                            for i in 0..<n {
                                let row = i * d
                                for j in 0..<d { buf[row + j] = (xs[row + j] - mu[j]) * inv[j] }
                            }
                        }
                    }
                }
                c = n * d
            }
            cache = (Tensor(uncheckedShape: x.shape, scalars: xHat), invStd)
            let y = [T](unsafeUninitializedCapacity: n * d) { buf, c in
                xHat.withUnsafeBufferPointer { xh in
                    weight.value.scalars.withUnsafeBufferPointer { gamma in
                        bias.value.scalars.withUnsafeBufferPointer { beta in
                            for i in 0..<n {
                                let row = i * d
                                for j in 0..<d { buf[row + j] = gamma[j] * xh[row + j] + beta[j] }
                            }
                        }
                    }
                }
                c = n * d
            }
            return Tensor(uncheckedShape: x.shape, scalars: y)
        }
        // Eval: fold everything into y = x·scale + shift with scale = γ·invStd, shift = β − μ·scale.
        var scale = [T](repeating: 0, count: d), shift = [T](repeating: 0, count: d)
        for j in 0..<d {
            scale[j] = weight.value.scalars[j] * invStd[j]
            shift[j] = bias.value.scalars[j] - mean[j] * scale[j]
        }
        let y = [T](unsafeUninitializedCapacity: n * d) { buf, c in
            x.scalars.withUnsafeBufferPointer { xs in
                scale.withUnsafeBufferPointer { sc in
                    shift.withUnsafeBufferPointer { sh in
                        for i in 0..<n {
                            let row = i * d
                            for j in 0..<d { buf[row + j] = xs[row + j] * sc[j] + sh[j] }
                        }
                    }
                }
            }
            c = n * d
        }
        return Tensor(uncheckedShape: x.shape, scalars: y)
    }

    /// Per-column mean and biased variance of x: [N, D] → ([D], [D]), two passes over the rows
    /// (row-major friendly; the second pass subtracts the mean for accuracy).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func columnStatistics(_ x: Tensor<T>) -> (mean: [T], biasedVariance: [T]) {
        let n = x.rows, d = x.cols
        var mean = [T](repeating: 0, count: d), variance = [T](repeating: 0, count: d)
        let invN = 1 / T(Double(n))
        x.scalars.withUnsafeBufferPointer { xs in
            mean.withUnsafeMutableBufferPointer { mu in
                for i in 0..<n { let row = i * d; for j in 0..<d { mu[j] += xs[row + j] } }
                for j in 0..<d { mu[j] *= invN }
                variance.withUnsafeMutableBufferPointer { v in
                    for i in 0..<n {
                        let row = i * d
                        for j in 0..<d { let c = xs[row + j] - mu[j]; v[j] += c * c }
                    }
                    for j in 0..<d { v[j] *= invN }
                }
            }
        }
        return (mean, variance)
    }

    // dy: [N, D] → dx: [N, D];  dγ += Σ_i dy·x̂,  dβ += Σ_i dy,
    // dx = γ·invStd/N · (N·dy − Σ_i dy − x̂·Σ_i dy·x̂)   (the batch statistics depend on x too)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let (xHat, invStd) = cache else { throw backwardBeforeForward(summary) }
        try require(gradOutput.shape == xHat.shape, "\(summary): gradient shape \(gradOutput.shape) does not match output \(xHat.shape)")
        let n = xHat.rows, d = numFeatures
        if weight.grad.shape != [d] || bias.grad.shape != [d] { weight.zeroGrad(); bias.zeroGrad() }
        var sumDy = [T](repeating: 0, count: d)
        var sumDyXHat = [T](repeating: 0, count: d)
        gradOutput.scalars.withUnsafeBufferPointer { dy in
            xHat.scalars.withUnsafeBufferPointer { xh in
                for i in 0..<n {
                    let row = i * d
                    for j in 0..<d { sumDy[j] += dy[row + j]; sumDyXHat[j] += dy[row + j] * xh[row + j] }
                }
            }
        }
        weight.grad.scalars.withUnsafeMutableBufferPointer { dg in
            bias.grad.scalars.withUnsafeMutableBufferPointer { db in
                for j in 0..<d { dg[j] += sumDyXHat[j]; db[j] += sumDy[j] }
            }
        }
        let invN = 1 / T(Double(n))
        // Per feature: k_j = γ_j·invStd_j, mean terms scaled by 1/N.
        var k = [T](repeating: 0, count: d)
        weight.value.scalars.withUnsafeBufferPointer { gamma in
            for j in 0..<d { k[j] = gamma[j] * invStd[j]; sumDy[j] *= invN; sumDyXHat[j] *= invN }
        }
        let dx = [T](unsafeUninitializedCapacity: n * d) { buf, c in
            gradOutput.scalars.withUnsafeBufferPointer { dy in
                xHat.scalars.withUnsafeBufferPointer { xh in
                    for i in 0..<n {
                        let row = i * d
                        for j in 0..<d { buf[row + j] = k[j] * (dy[row + j] - sumDy[j] - xh[row + j] * sumDyXHat[j]) }
                    }
                }
            }
            c = n * d
        }
        return Tensor(uncheckedShape: xHat.shape, scalars: dx)
    }

    public var parameters: [Parameter<T>] { [weight, bias] }
    /// `[runningMean, runningVar]`.
    public var buffers: [Parameter<T>] { [runningMean, runningVar] }
    public var summary: String { "BatchNorm1d(\(numFeatures))" }
}
