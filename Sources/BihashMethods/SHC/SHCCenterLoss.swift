import BihashCore

/// SHC's stage-3 loss (ALGORITHMS.md §3.4, SHC `train.py::CSQLoss`): for pre-activations u: [N, K] and each
/// sample's hash centre c: [N, K] (±1),
///
///     û = tanh(u)
///     L = BCE(½(û + 1), ½(c + 1))  [mean over N·K]  +  λ·mean((|û| − 1)²)        (λ = 1e-4)
///
/// The BCE term is evaluated in its exact, numerically stable form: with p = ½(tanh u + 1) = σ(2u) and
/// t = ½(c + 1), −t·log p − (1 − t)·log(1 − p) = softplus(2u) − 2u·t, whose derivative is tanh(u) − c.
/// PyTorch instead clamps each log at −100, which only differs once tanh saturates in Float (|u| ≳ 9), where
/// PyTorch's loss jumps to 100 with zero gradient; here the loss and gradient stay exact (a documented deviation).
///
/// ```swift
/// let loss = SHCCenterLoss<Float>(lambda: 1e-4)
/// let value = try loss.forward(u, centers: targets)   // [N, K], [N, K] ±1
/// let du = try loss.backward()                         // [N, K]
/// ```
public final class SHCCenterLoss<T: TensorScalar> {
    /// λ, the weight of the quantisation term (spec `--lambd` = 1e-4).
    public let lambda: T
    private var cache: (u: Tensor<T>, centers: Tensor<T>)?

    public init(lambda: T = 1e-4) { self.lambda = lambda }

    /// L for pre-activations `u` [N, K] and per-sample centres `centers` [N, K] with entries ±1.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ u: Tensor<T>, centers: Tensor<T>) throws -> T {
        try require(u.rank == 2 && u.count > 0, "\(summary): expected u [N, K], got \(u.shape)")
        try require(u.shape == centers.shape, "\(summary): u \(u.shape) and centres \(centers.shape) differ in shape")
        var bce = 0.0, quant = 0.0
        u.scalars.withUnsafeBufferPointer { x in
            centers.scalars.withUnsafeBufferPointer { c in
                for i in 0..<x.count {
                    let v = x[i], t = (c[i] + 1) / 2                     // BCE target ½(c + 1)
                    let z = 2 * v                                         // p = σ(2u) = ½(tanh u + 1)
                    let softplus = max(z, 0) + T.log(1 + T.exp(-abs(z))) // stable log(1 + e^z)
                    bce += (softplus - z * t).doubleValue                // −t log p − (1 − t) log(1 − p)
                    let q = abs(T.tanh(v)) - 1                            // |û| − 1
                    quant += (q * q).doubleValue
                }
            }
        }
        cache = (u, centers)
        let m = Double(u.count)
        return T(bce / m + lambda.doubleValue * quant / m)
    }

    /// scale·∂L/∂u: [N, K] = scale·[(tanh u − c) + λ·2(|û| − 1)·sign(û)·(1 − û²)]/(N·K).
    /// - Throws: `BihashError.invalidState` if no forward came first.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(scale: T = 1) throws -> Tensor<T> {
        guard let (u, c) = cache else { throw BihashError.invalidState("\(summary): backward called before forward") }
        let k = scale / T(Double(u.count))
        let lambda = self.lambda
        return try u.zipMap(c) { v, center in
            let h = T.tanh(v)
            let sign: T = h > 0 ? 1 : (h < 0 ? -1 : 0)                    // d|û|/dû (0 at 0, as PyTorch's abs)
            let dQuant = 2 * (abs(h) - 1) * sign * (1 - h * h)            // d/du (|tanh u| − 1)²
            return k * ((h - center) + lambda * dQuant)                   // d/du of softplus(2u) − 2u·t is tanh u − c
        }
    }

    public var summary: String { "SHCCenterLoss(BCE + \(lambda)·quantisation)" }
}
