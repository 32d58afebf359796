import BihashCore

/// Stochastic gradient descent with momentum (PyTorch `torch.optim.SGD`, `maximize=False`):
///
///     g ← grad + weight_decay·θ
///     if momentum ≠ 0:  buf ← g on the first step, else buf ← momentum·buf + (1 − dampening)·g
///                       g ← g + momentum·buf if nesterov, else buf
///     θ ← θ − lr·g
public final class SGD<T: TensorScalar>: Optimizer {
    public typealias Scalar = T
    public let parameters: [Parameter<T>]
    public var learningRate: T
    public let momentum: T
    public let dampening: T
    public let weightDecay: T
    public let nesterov: Bool
    /// Momentum buffers, one per parameter (empty until the first step).
    private var buffers: [[T]]

    /// - Throws: `BihashError.invalidArgument` for a negative learning rate, momentum or weight decay, a
    ///   parameter listed twice, or Nesterov without momentum / with dampening (as PyTorch).
    public init(parameters: [Parameter<T>], learningRate: T, momentum: T = 0, dampening: T = 0,
                weightDecay: T = 0, nesterov: Bool = false) throws {
        try validateOptimizerParameters(parameters, learningRate: learningRate, weightDecay: weightDecay, name: "SGD")
        try require(momentum >= 0, "SGD: momentum must be ≥ 0, got \(momentum)")
        try require(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum requires momentum > 0 and zero dampening")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        self.buffers = parameters.map { _ in [] }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step() throws {
        let lr = learningRate, mu = momentum, wd = weightDecay, keep = 1 - dampening
        for (index, p) in parameters.enumerated() {
            let n = p.value.count
            try checkParameterShape(p, count: n, "SGD")
            let first = buffers[index].isEmpty
            if mu != 0 && first { buffers[index] = [T](repeating: 0, count: n) }
            if mu != 0 && buffers[index].count != n {
                throw BihashError.invalidState("SGD: parameter '\(p.name)' changed size from \(buffers[index].count) to \(n) elements")
            }
            p.grad.scalars.withUnsafeBufferPointer { grad in
                p.value.scalars.withUnsafeMutableBufferPointer { theta in
                    if mu == 0 {
                        for i in 0..<n { theta[i] -= lr * (grad[i] + wd * theta[i]) }
                        return
                    }
                    buffers[index].withUnsafeMutableBufferPointer { buf in
                        for i in 0..<n {
                            let g = grad[i] + wd * theta[i]
                            buf[i] = first ? g : mu * buf[i] + keep * g   // the first step copies g (no dampening)
                            theta[i] -= lr * (nesterov ? g + mu * buf[i] : buf[i])
                        }
                    }
                }
            }
        }
    }
}
