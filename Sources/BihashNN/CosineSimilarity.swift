import BihashCore

/// Row-wise cosine similarity with PyTorch's current `F.cosine_similarity(a, b, dim=1, eps)` formula:
///
///     cos_p = Σ_d (a_pd / max(‖a_p‖, eps)) · (b_pd / max(‖b_p‖, eps))
///
/// i.e. each norm is clamped separately (ATen `cosine_similarity` clamps `x1_norm` and `x2_norm` with
/// `clamp_min_(eps)`; the older `max(‖a‖·‖b‖, eps)` form is gone). A zero row therefore gives cos = 0, not NaN.
///
/// Backward is the exact derivative of that forward: with n_a = max(‖a‖, eps),
///     ∂cos/∂a = b/(n_a·n_b) − cos·a/n_a²   if ‖a‖ > eps,   b/(n_a·n_b) otherwise (the clamp is constant),
/// and symmetrically for b. This is PyTorch's autograd result everywhere except 0 < ‖a‖ ≤ eps, where PyTorch
/// (whose clamp runs under no_grad) still differentiates through the norm; at exact zeros both agree.
///
/// Shapes: a, b: [P, D] (P pairs) → cos: [P]. Used by the similarity-preservation loss (§1.4b) and SDC.
public final class RowCosineSimilarity<T: TensorScalar> {
    /// Lower bound on each row norm (PyTorch default 1e-8).
    public let eps: T
    /// a, b, clamped norms n_a, n_b [P], whether each norm was above eps, and cos [P].
    private var cache: (a: Tensor<T>, b: Tensor<T>, normA: [T], normB: [T], freeA: [Bool], freeB: [Bool], cos: [T])?

    public init(eps: T = 1e-8) { self.eps = eps }

    /// cos(a_p, b_p) for every row pair; caches for `backward`.
    // a, b: [P, D] → [P]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ a: Tensor<T>, _ b: Tensor<T>) throws -> Tensor<T> {
        try require(a.rank == 2 && a.shape == b.shape, "RowCosineSimilarity: expected two [P, D] matrices of one shape, got \(a.shape) and \(b.shape)")
        let r = RowCosineSimilarity.compute(a, b, eps: eps)
        cache = (a, b, r.normA, r.normB, r.freeA, r.freeB, r.cos)
        return Tensor(uncheckedShape: [a.rows], scalars: r.cos)
    }

    /// (∂L/∂a, ∂L/∂b) from ∂L/∂cos of the last `forward`.
    // dcos: [P] → ([P, D], [P, D])
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradCos: Tensor<T>) throws -> (a: Tensor<T>, b: Tensor<T>) {
        guard let c = cache else { throw BihashError.invalidState("RowCosineSimilarity: backward called before forward") }
        try require(gradCos.count == c.a.rows, "RowCosineSimilarity: gradient has \(gradCos.count) elements, expected \(c.a.rows)")
        let p = c.a.rows, d = c.a.cols
        var da = [T](repeating: 0, count: p * d), db = [T](repeating: 0, count: p * d)
        c.a.scalars.withUnsafeBufferPointer { a in
        c.b.scalars.withUnsafeBufferPointer { b in
        da.withUnsafeMutableBufferPointer { ga in
        db.withUnsafeMutableBufferPointer { gb in
            for i in 0..<p {
                let g = gradCos.scalars[i], cos = c.cos[i], na = c.normA[i], nb = c.normB[i]
                let cross = g / (na * nb)                                // coefficient of the other vector
                let selfA = c.freeA[i] ? g * cos / (na * na) : 0        // norm term, only where the norm is unclamped
                let selfB = c.freeB[i] ? g * cos / (nb * nb) : 0
                let row = i * d
                for j in 0..<d {
                    ga[row + j] = cross * b[row + j] - selfA * a[row + j]
                    gb[row + j] = cross * a[row + j] - selfB * b[row + j]
                }
            }
        }
        }
        }
        }
        return (Tensor(uncheckedShape: c.a.shape, scalars: da), Tensor(uncheckedShape: c.b.shape, scalars: db))
    }

    /// cos(a_p, b_p) for every row pair, without caching (e.g. detached targets).
    // a, b: [P, D] → [P]
    public static func cosine(_ a: Tensor<T>, _ b: Tensor<T>, eps: T = 1e-8) throws -> Tensor<T> {
        try require(a.rank == 2 && a.shape == b.shape, "RowCosineSimilarity: expected two [P, D] matrices of one shape, got \(a.shape) and \(b.shape)")
        return Tensor(uncheckedShape: [a.rows], scalars: compute(a, b, eps: eps).cos)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func compute(_ a: Tensor<T>, _ b: Tensor<T>, eps: T)
        -> (cos: [T], normA: [T], normB: [T], freeA: [Bool], freeB: [Bool]) {
        let p = a.rows, d = a.cols
        var cos = [T](repeating: 0, count: p), normA = cos, normB = cos
        var freeA = [Bool](repeating: false, count: p), freeB = freeA
        a.scalars.withUnsafeBufferPointer { x in
            b.scalars.withUnsafeBufferPointer { y in
                for i in 0..<p {
                    var dot: T = 0, sa: T = 0, sb: T = 0
                    let row = i * d
                    for j in 0..<d {
                        let u = x[row + j], v = y[row + j]
                        dot += u * v; sa += u * u; sb += v * v
                    }
                    let ra = sa.squareRoot(), rb = sb.squareRoot()
                    freeA[i] = ra > eps; freeB[i] = rb > eps
                    normA[i] = max(ra, eps); normB[i] = max(rb, eps)   // each norm clamped on its own
                    cos[i] = dot / (normA[i] * normB[i])
                }
            }
        }
        return (cos, normA, normB, freeA, freeB)
    }
}
