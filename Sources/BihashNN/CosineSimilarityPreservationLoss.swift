import BihashCore

/// The similarity-preservation loss of ALGORITHMS.md §1.4b (Bi-half feature hashing, GreedyHash-style):
/// the batch is split into halves a = rows [0, P) and b = rows [P, 2P) with P = ⌊N/2⌋ (an odd N drops its
/// last row, as the SDC port does), and
///
///     L = (1/P)·Σ_p ( cos(B_a[p], B_b[p]) − cos(X_a[p], X_b[p]) )²
///
/// with PyTorch's cosine (see `RowCosineSimilarity`, eps 1e-8). The feature similarities are a detached
/// target: computed once per forward, no gradient flows to X. Backward returns ∂L/∂B: [N, K], with a zero
/// row for the dropped sample when N is odd.
///
/// ```swift
/// let loss = CosineSimilarityPreservationLoss<Float>()
/// let value = try loss.forward(codes: b, features: x)     // b: [N, K], x: [N, D]
/// let gradB = try loss.backward()                          // [N, K]
/// ```
public final class CosineSimilarityPreservationLoss<T: TensorScalar>: Loss {
    public typealias Scalar = T
    private let cosine: RowCosineSimilarity<T>
    /// N of the last forward and the code similarities minus their targets, [P].
    private var cache: (n: Int, k: Int, residual: [T])?

    /// - Parameter eps: lower bound on each row norm in both cosines (PyTorch default 1e-8).
    public init(eps: T = 1e-8) { cosine = RowCosineSimilarity(eps: eps) }

    /// The detached targets cos(X_a[p], X_b[p]) for p < ⌊N/2⌋.
    // x: [N, D] → [⌊N/2⌋]
    public static func targetSimilarity(_ features: Tensor<T>, eps: T = 1e-8) throws -> Tensor<T> {
        try require(features.rank == 2 && features.rows >= 2, "similarity-preservation loss: expected features [N, D] with N ≥ 2, got \(features.shape)")
        let p = features.rows / 2
        return try RowCosineSimilarity.cosine(features.rows(0..<p), features.rows(p..<(2 * p)), eps: eps)
    }

    /// L for codes `codes` [N, K] against the pair similarities of `features` [N, D].
    public func forward(codes: Tensor<T>, features: Tensor<T>) throws -> T {
        try require(features.rank == 2 && features.rows == codes.rows,
                    "similarity-preservation loss: codes \(codes.shape) and features \(features.shape) need the same N")
        return try forward(codes: codes, targetSimilarity: CosineSimilarityPreservationLoss.targetSimilarity(features, eps: cosine.eps))
    }

    /// L for codes [N, K] against precomputed targets [⌊N/2⌋] (e.g. from `targetSimilarity(_:)`).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(codes: Tensor<T>, targetSimilarity: Tensor<T>) throws -> T {
        try require(codes.rank == 2 && codes.rows >= 2, "similarity-preservation loss: expected codes [N, K] with N ≥ 2, got \(codes.shape)")
        try require(codes.cols >= 1, "similarity-preservation loss: codes need K ≥ 1 columns, got \(codes.shape)")
        let n = codes.rows, p = n / 2
        try require(targetSimilarity.count == p, "similarity-preservation loss: \(targetSimilarity.count) target similarities for N = \(n), expected \(p)")
        let cosB = try cosine.forward(codes.rows(0..<p), codes.rows(p..<(2 * p)))
        var residual = [T](repeating: 0, count: p)
        var sum = 0.0
        for i in 0..<p {
            residual[i] = cosB.scalars[i] - targetSimilarity.scalars[i]
            sum += (residual[i] * residual[i]).doubleValue
        }
        cache = (n, codes.cols, residual)
        return T(sum / Double(p))
    }

    /// `forward(codes: prediction, features: target)`.
    public func forward(_ prediction: Tensor<T>, target: Tensor<T>) throws -> T {
        try forward(codes: prediction, features: target)
    }

    // → ∂(scale·L)/∂B: [N, K]; rows [0, P) from the a side, [P, 2P) from the b side, row 2P (odd N) zero.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(scale: T) throws -> Tensor<T> {
        guard let c = cache else { throw BihashError.invalidState("\(summary): backward called before forward") }
        let p = c.residual.count
        let k = scale * 2 / T(Double(p))  // d/dcos_p of (1/P)·(cos_p − target_p)²
        let gradCos = Tensor<T>(uncheckedShape: [p], scalars: c.residual.map { k * $0 })
        let (ga, gb) = try cosine.backward(gradCos)
        var out = [T](repeating: 0, count: c.n * c.k)
        out.withUnsafeMutableBufferPointer { o in
            ga.scalars.withUnsafeBufferPointer { o.baseAddress!.update(from: $0.baseAddress!, count: p * c.k) }
            gb.scalars.withUnsafeBufferPointer { (o.baseAddress! + p * c.k).update(from: $0.baseAddress!, count: p * c.k) }
        }
        return Tensor(uncheckedShape: [c.n, c.k], scalars: out)
    }

    public var summary: String { "CosineSimilarityPreservation(mean)" }
}
