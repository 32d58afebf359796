import BihashCore

// Element-wise activation layers. Shapes: x, y, dy, dx all [N, D] (any shape works; the layers are
// element-wise). Each caches what its derivative needs during a training forward.

/// Rectified linear unit y = max(x, 0) (NaN passes through, as in PyTorch).
///
/// Backward: dx = dy where y > 0, else 0 (the derivative at 0 is taken as 0, as PyTorch does).
public final class ReLU<T: TensorScalar>: Layer {
    public typealias Scalar = T
    private var output: Tensor<T>?

    public init() {}

    // x: [N, D] → y: [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, training: Bool) throws -> Tensor<T> {
        let y = x.mapElements { $0 < 0 ? 0 : $0 }
        if training { output = y }
        return y
    }

    // dy: [N, D] → dx: [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let y = output else { throw backwardBeforeForward(summary) }
        try require(gradOutput.shape == y.shape, "\(summary): gradient shape \(gradOutput.shape) does not match output \(y.shape)")
        return gradOutput.zipElements(y) { g, v in v > 0 ? g : 0 }
    }

    public var summary: String { "ReLU" }
}

/// Gaussian error linear unit, exact form (PyTorch `GELU(approximate='none')`):
/// y = x·Φ(x) = ½·x·(1 + erf(x/√2)).
///
/// Backward: dx = dy·(Φ(x) + x·φ(x)) with φ(x) = exp(−x²/2)/√(2π).
public final class GELU<T: TensorScalar>: Layer {
    public typealias Scalar = T
    private var input: Tensor<T>?

    public init() {}

    // x: [N, D] → y: [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, training: Bool) throws -> Tensor<T> {
        let invSqrt2 = T(0.70710678118654752440)
        let y = x.mapElements { v in T(0.5) * v * (1 + T.erf(v * invSqrt2)) }
        if training { input = x }
        return y
    }

    // dy: [N, D] → dx: [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let x = input else { throw backwardBeforeForward(summary) }
        try require(gradOutput.shape == x.shape, "\(summary): gradient shape \(gradOutput.shape) does not match output \(x.shape)")
        let invSqrt2 = T(0.70710678118654752440)
        let invSqrt2Pi = T(0.39894228040143267794)  // 1/√(2π)
        return gradOutput.zipElements(x) { g, v in
            let cdf = T(0.5) * (1 + T.erf(v * invSqrt2))     // Φ(x)
            let pdf = invSqrt2Pi * T.exp(T(-0.5) * v * v)    // φ(x)
            return g * (cdf + v * pdf)
        }
    }

    public var summary: String { "GELU" }
}

/// Hyperbolic tangent y = tanh(x). Backward: dx = dy·(1 − y²).
public final class Tanh<T: TensorScalar>: Layer {
    public typealias Scalar = T
    private var output: Tensor<T>?

    public init() {}

    // x: [N, D] → y: [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, training: Bool) throws -> Tensor<T> {
        let y = x.mapElements { T.tanh($0) }
        if training { output = y }
        return y
    }

    // dy: [N, D] → dx: [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let y = output else { throw backwardBeforeForward(summary) }
        try require(gradOutput.shape == y.shape, "\(summary): gradient shape \(gradOutput.shape) does not match output \(y.shape)")
        return gradOutput.zipElements(y) { g, v in g * (1 - v * v) }
    }

    public var summary: String { "Tanh" }
}

/// Logistic sigmoid y = 1/(1 + e^(−x)), evaluated without overflow for large |x|. Backward: dx = dy·y·(1 − y).
public final class Sigmoid<T: TensorScalar>: Layer {
    public typealias Scalar = T
    private var output: Tensor<T>?

    public init() {}

    // x: [N, D] → y: [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, training: Bool) throws -> Tensor<T> {
        let y = x.mapElements { v in
            // e^(−|x|) ≤ 1 never overflows; for x < 0 use σ(x) = eˣ/(1 + eˣ).
            if v >= 0 { return 1 / (1 + T.exp(-v)) }
            let e = T.exp(v)
            return e / (1 + e)
        }
        if training { output = y }
        return y
    }

    // dy: [N, D] → dx: [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let y = output else { throw backwardBeforeForward(summary) }
        try require(gradOutput.shape == y.shape, "\(summary): gradient shape \(gradOutput.shape) does not match output \(y.shape)")
        return gradOutput.zipElements(y) { g, v in g * v * (1 - v) }
    }

    public var summary: String { "Sigmoid" }
}
