import BihashCore

/// Softmax cross-entropy on logits with integer class targets, mean over the batch (PyTorch
/// `CrossEntropyLoss(reduction='mean')`, equivalently BCE-free `-Σ onehot·log softmax` as SHC's classifier uses):
///
///     L = (1/N)·Σ_n [ logsumexp(z_n) − z_n[y_n] ]
///
/// computed stably (the row maximum is subtracted before exponentiating, sums in `Double`).
/// Backward: ∂L/∂z_n = (softmax(z_n) − onehot(y_n))/N.
///
/// ```swift
/// let ce = SoftmaxCrossEntropyLoss<Float>()
/// let loss = try ce.forward(logits, classes: labels)   // logits [N, C], labels N ints in 0..<C
/// let dLogits = try ce.backward()                       // [N, C]
/// ```
public final class SoftmaxCrossEntropyLoss<T: TensorScalar> {
    /// softmax(z) of the last forward, [N, C], and its targets.
    private var cache: (probabilities: Tensor<T>, classes: [Int])?

    public init() {}

    /// The mean cross-entropy of `logits` [N, C] against class indices `classes` (N values in 0..<C).
    /// - Throws: `BihashError.invalidArgument` for a shape mismatch, an empty batch or a class out of range.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ logits: Tensor<T>, classes: [Int]) throws -> T {
        try require(logits.rank == 2 && logits.rows >= 1 && logits.cols >= 1, "\(summary): expected logits [N, C] with N, C ≥ 1, got \(logits.shape)")
        try require(classes.count == logits.rows, "\(summary): \(classes.count) targets for \(logits.rows) rows")
        let n = logits.rows, c = logits.cols
        if let bad = classes.firstIndex(where: { $0 < 0 || $0 >= c }) {
            throw BihashError.invalidArgument("\(summary): target \(bad) is class \(classes[bad]), expected 0…\(c - 1)")
        }
        var p = [T](repeating: 0, count: n * c)
        var sum = 0.0
        logits.scalars.withUnsafeBufferPointer { z in
            p.withUnsafeMutableBufferPointer { q in
                for i in 0..<n {
                    let row = i * c
                    var m = z[row]
                    for j in 1..<max(c, 1) { m = max(m, z[row + j]) }  // shift by the row max: exp never overflows
                    var s: T = 0
                    for j in 0..<c { let e = T.exp(z[row + j] - m); q[row + j] = e; s += e }
                    for j in 0..<c { q[row + j] /= s }
                    // logsumexp(z) − z_y = log s + m − z_y
                    sum += (T.log(s) + m - z[row + classes[i]]).doubleValue
                }
            }
        }
        cache = (Tensor(uncheckedShape: [n, c], scalars: p), classes)
        return T(sum / Double(n))
    }

    /// scale·∂L/∂z: [N, C] for the last forward.
    /// - Throws: `BihashError.invalidState` if no forward came first.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(scale: T = 1) throws -> Tensor<T> {
        guard let (p, y) = cache else { throw BihashError.invalidState("\(summary): backward called before forward") }
        let n = p.rows, c = p.cols
        let k = scale / T(Double(n))
        var g = p
        g.scalars.withUnsafeMutableBufferPointer { q in
            for i in 0..<n {
                for j in 0..<c { q[i * c + j] *= k }
                q[i * c + y[i]] -= k  // (softmax − onehot)/N
            }
        }
        return g
    }

    public var summary: String { "SoftmaxCrossEntropy(mean)" }
}
