import BihashCore

/// RMSprop (PyTorch `torch.optim.RMSprop`):
///
///     g ← grad + weight_decay·θ
///     v ← α·v + (1 − α)·g²
///     centered:  ḡ ← α·ḡ + (1 − α)·g,  d ← √(v − ḡ²) + eps;   otherwise d ← √v + eps
///     momentum > 0:  buf ← momentum·buf + g/d,  θ ← θ − lr·buf;   otherwise θ ← θ − lr·g/d
public final class RMSprop<T: TensorScalar>: Optimizer {
    public typealias Scalar = T
    public let parameters: [Parameter<T>]
    public var learningRate: T
    public let alpha: T
    public let eps: T
    public let weightDecay: T
    public let momentum: T
    public let centered: Bool
    /// Running mean of g², of g (centered only) and the momentum buffer (momentum > 0 only), per parameter.
    private var squareAverage: [[T]]
    private var gradAverage: [[T]]
    private var momentumBuffer: [[T]]

    /// - Throws: `BihashError.invalidArgument` for a negative learning rate, eps, weight decay or momentum,
    ///   alpha outside [0, 1], or a parameter listed twice.
    public init(parameters: [Parameter<T>], learningRate: T = 1e-2, alpha: T = 0.99, eps: T = 1e-8,
                weightDecay: T = 0, momentum: T = 0, centered: Bool = false) throws {
        try validateOptimizerParameters(parameters, learningRate: learningRate, weightDecay: weightDecay, name: "RMSprop")
        try require(alpha >= 0 && alpha <= 1, "RMSprop: alpha must be in [0, 1], got \(alpha)")
        try require(eps >= 0, "RMSprop: eps must be ≥ 0, got \(eps)")
        try require(momentum >= 0, "RMSprop: momentum must be ≥ 0, got \(momentum)")
        self.parameters = parameters
        self.learningRate = learningRate
        self.alpha = alpha
        self.eps = eps
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
        let zeros = parameters.map { [T](repeating: 0, count: $0.value.count) }
        squareAverage = zeros
        gradAverage = centered ? zeros : parameters.map { _ in [] }
        momentumBuffer = momentum > 0 ? zeros : parameters.map { _ in [] }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step() throws {
        let lr = learningRate, a = alpha, wd = weightDecay, e = eps, mu = momentum
        let centered = self.centered, useMomentum = momentum > 0
        for (index, p) in parameters.enumerated() {
            let n = squareAverage[index].count
            try checkParameterShape(p, count: n, "RMSprop")
            p.grad.scalars.withUnsafeBufferPointer { grad in
            p.value.scalars.withUnsafeMutableBufferPointer { theta in
            squareAverage[index].withUnsafeMutableBufferPointer { v in
            gradAverage[index].withUnsafeMutableBufferPointer { gbar in      // empty unless centered
            momentumBuffer[index].withUnsafeMutableBufferPointer { buf in   // empty unless momentum > 0
                for i in 0..<n {
                    let g = grad[i] + wd * theta[i]
                    v[i] = a * v[i] + (1 - a) * g * g
                    var d: T
                    if centered {
                        gbar[i] += (1 - a) * (g - gbar[i])                 // lerp: α·ḡ + (1 − α)·g
                        d = (v[i] - gbar[i] * gbar[i]).squareRoot() + e    // √(E[g²] − E[g]²) + eps
                    } else {
                        d = v[i].squareRoot() + e
                    }
                    if useMomentum {
                        buf[i] = mu * buf[i] + g / d
                        theta[i] -= lr * buf[i]
                    } else {
                        theta[i] -= lr * g / d
                    }
                }
            }
            }
            }
            }
            }
        }
    }
}
