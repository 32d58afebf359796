import BihashCore

/// A scalar training loss with a cached forward/backward pair, like `Layer`.
///
/// `forward` returns L(prediction, target) and caches what `backward` needs; `backward(scale:)` returns
/// scale·∂L/∂prediction (the target is treated as a constant). The value is accumulated in `Double` and
/// returned in the tensor's precision.
///
/// ```swift
/// let bce = BinaryCrossEntropyLoss<Float>()
/// let loss = try bce.forward(reconstruction, target: x)   // [N, D], [N, D] → scalar
/// let dReconstruction = try bce.backward()                // [N, D]
/// ```
public protocol Loss<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    /// The loss of `prediction` against `target`; caches for `backward`.
    func forward(_ prediction: Tensor<Scalar>, target: Tensor<Scalar>) throws -> Scalar
    /// scale·∂L/∂prediction for the last `forward`, shaped like the prediction.
    /// - Throws: `BihashError.invalidState` if no forward came first.
    func backward(scale: Scalar) throws -> Tensor<Scalar>
    /// A short description for logs, e.g. `BCE(mean)`.
    var summary: String { get }
}

extension Loss {
    /// ∂L/∂prediction for the last `forward`.
    public func backward() throws -> Tensor<Scalar> { try backward(scale: 1) }
}

/// Mean squared error L = (1/M)·Σ (p − t)² over all M elements (PyTorch `MSELoss(reduction='mean')`).
///
/// Backward: ∂L/∂p = 2·(p − t)/M.
public final class MeanSquaredErrorLoss<T: TensorScalar>: Loss {
    public typealias Scalar = T
    private var cache: (prediction: Tensor<T>, target: Tensor<T>)?

    public init() {}

    // prediction, target: [N, D] → scalar
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ prediction: Tensor<T>, target: Tensor<T>) throws -> T {
        try require(prediction.shape == target.shape, "\(summary): prediction \(prediction.shape) and target \(target.shape) differ in shape")
        try require(prediction.count > 0, "\(summary): empty input")
        var sum = 0.0
        prediction.scalars.withUnsafeBufferPointer { p in
            target.scalars.withUnsafeBufferPointer { t in
                for i in 0..<p.count { let d = p[i] - t[i]; sum += (d * d).doubleValue }
            }
        }
        cache = (prediction, target)
        return T(sum / Double(prediction.count))
    }

    // → [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(scale: T) throws -> Tensor<T> {
        guard let (p, t) = cache else { throw BihashError.invalidState("\(summary): backward called before forward") }
        let k = scale * 2 / T(Double(p.count))  // d/dp of (1/M)·(p − t)²
        return p.zipElements(t) { a, b in k * (a - b) }
    }

    public var summary: String { "MSE(mean)" }
}

/// Binary cross-entropy on probabilities, mean over all M elements (PyTorch `BCELoss(reduction='mean')`):
/// L = −(1/M)·Σ [t·max(log p, −100) + (1 − t)·max(log(1 − p), −100)].
///
/// Backward follows PyTorch's kernel exactly: ∂L/∂p = (p − t)/max(p·(1 − p), 1e−12)/M (which equals the
/// derivative of L wherever the log clamp is inactive).
/// - Throws: `BihashError.invalidArgument` if a prediction is outside [0, 1] or NaN (PyTorch refuses too).
public final class BinaryCrossEntropyLoss<T: TensorScalar>: Loss {
    public typealias Scalar = T
    private var cache: (prediction: Tensor<T>, target: Tensor<T>)?

    public init() {}

    // prediction (probabilities), target: [N, D] → scalar
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ prediction: Tensor<T>, target: Tensor<T>) throws -> T {
        try require(prediction.shape == target.shape, "\(summary): prediction \(prediction.shape) and target \(target.shape) differ in shape")
        try require(prediction.count > 0, "\(summary): empty input")
        var sum = 0.0
        var bad: Int? = nil
        prediction.scalars.withUnsafeBufferPointer { p in
            for i in 0..<p.count where !(p[i] >= 0 && p[i] <= 1) { bad = i; break }  // also catches NaN
        }
        if let i = bad {
            throw BihashError.invalidArgument("\(summary): predictions must be probabilities in [0, 1], element \(i) is \(prediction.scalars[i])")
        }
        prediction.scalars.withUnsafeBufferPointer { p in
            target.scalars.withUnsafeBufferPointer { t in
                // Sum in blocks of 1024 in T, blocks in Double: accurate and keeps the inner loop in registers.
                var start = 0
                while start < p.count {
                    let end = min(start + 1024, p.count)
                    var block: T = 0
                    for i in start..<end {
                        let v = p[i], w = t[i]
                        // PyTorch clamps each log at −100 (log 0 = −inf). For a binary target one term has weight
                        // exactly 0 and contributes 0·(clamped, finite) = 0, so a single log of the selected
                        // probability gives the same sum at half the cost.
                        if w * (1 - w) == 0 {       // w ∈ {0, 1}: one predictable branch, then a select
                            block += max(T.log(w == 1 ? v : 1 - v), -100)
                        } else {
                            block += w * max(T.log(v), -100) + (1 - w) * max(T.log(1 - v), -100)
                        }
                    }
                    sum -= block.doubleValue
                    start = end
                }
            }
        }
        cache = (prediction, target)
        return T(sum / Double(prediction.count))
    }

    // → [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(scale: T) throws -> Tensor<T> {
        guard let (p, t) = cache else { throw BihashError.invalidState("\(summary): backward called before forward") }
        let k = scale / T(Double(p.count))
        let floor = T(1e-12)  // PyTorch's EPSILON in binary_cross_entropy_backward
        return p.zipElements(t) { a, b in k * (a - b) / max((1 - a) * a, floor) }
    }

    public var summary: String { "BCE(mean)" }
}
