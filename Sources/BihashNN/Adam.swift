import BihashCore

/// Adam (PyTorch `torch.optim.Adam`, `amsgrad=False`), with L2 weight decay added to the gradient:
///
///     g ← grad + weight_decay·θ
///     m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·g²
///     θ ← θ − (lr/(1 − β₁ᵗ)) · m / (√v/√(1 − β₂ᵗ) + eps)
///
/// (the last line in PyTorch's single-tensor form; t counts steps from 1).
public final class Adam<T: TensorScalar>: Optimizer {
    public typealias Scalar = T
    public let parameters: [Parameter<T>]
    public var learningRate: T
    public let beta1: T
    public let beta2: T
    public let eps: T
    public let weightDecay: T
    /// Steps taken so far (t of the last step).
    public private(set) var stepCount = 0
    /// First and second moment estimates, one array each per parameter.
    private var firstMoment: [[T]]
    private var secondMoment: [[T]]

    /// - Throws: `BihashError.invalidArgument` for a negative learning rate, eps or weight decay, betas
    ///   outside [0, 1), or a parameter listed twice.
    public init(parameters: [Parameter<T>], learningRate: T = 1e-3, betas: (T, T) = (0.9, 0.999), eps: T = 1e-8,
                weightDecay: T = 0) throws {
        try validateOptimizerParameters(parameters, learningRate: learningRate, weightDecay: weightDecay, name: "Adam")
        try require(betas.0 >= 0 && betas.0 < 1 && betas.1 >= 0 && betas.1 < 1, "Adam: betas must be in [0, 1), got \(betas)")
        try require(eps >= 0, "Adam: eps must be ≥ 0, got \(eps)")
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = betas.0
        self.beta2 = betas.1
        self.eps = eps
        self.weightDecay = weightDecay
        firstMoment = parameters.map { [T](repeating: 0, count: $0.value.count) }
        secondMoment = firstMoment
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step() throws {
        stepCount += 1
        let t = Double(stepCount)
        // Bias corrections in Double (PyTorch computes them as Python floats).
        let stepSize = T(learningRate.doubleValue / (1 - Foundation_pow(beta1.doubleValue, t)))
        let invCorrection2Sqrt = T(1 / (1 - Foundation_pow(beta2.doubleValue, t)).squareRoot())
        let b1 = beta1, b2 = beta2, wd = weightDecay, e = eps
        for (index, p) in parameters.enumerated() {
            let n = firstMoment[index].count
            try checkParameterShape(p, count: n, "Adam")
            p.grad.scalars.withUnsafeBufferPointer { grad in
            p.value.scalars.withUnsafeMutableBufferPointer { theta in
            firstMoment[index].withUnsafeMutableBufferPointer { m in
            secondMoment[index].withUnsafeMutableBufferPointer { v in
                for i in 0..<n {
                    let g = grad[i] + wd * theta[i]
                    m[i] += (1 - b1) * (g - m[i])                  // lerp towards g: β₁·m + (1 − β₁)·g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    theta[i] -= stepSize * m[i] / (v[i].squareRoot() * invCorrection2Sqrt + e)
                }
            }
            }
            }
            }
        }
    }
}

import Foundation
@inline(__always) func Foundation_pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
