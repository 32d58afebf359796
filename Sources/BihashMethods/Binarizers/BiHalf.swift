import BihashCore
import BihashNN

/// The bi-half layer (Li & van Gemert, AAAI 2021; ALGORITHMS.md §1.1–1.3).
///
/// Training forward: for every bit (column) independently, the ⌊N/2⌋ largest values of the batch get +1 and
/// the rest −1, so each bit splits the batch half/half (maximum bit entropy). For odd N the −1 side gets
/// the extra sample. Ties are broken deterministically: among equal values the lower row index ranks first
/// (a stable descending sort), so it is the one that gets +1.
///
/// Backward: straight-through plus the pull toward the codes,
///     ∂L/∂U = ∂L/∂B + γ·(U − B)/(N·K)                                  (paper §3.2; official code)
/// with γ = 6 for feature hashing and γ = 1 for the autoencoder (the code's values, not the paper's 3/(NK)).
///
/// Eval forward: sign(U) with sign(0) = +1 — the batch ranking is never used at test time (§1.3).
public final class BiHalf<T: TensorScalar>: Layer {
    public typealias Scalar = T
    /// γ of the backward pass.
    public let gamma: T
    private var cache: (u: Tensor<T>, b: Tensor<T>)?

    public init(gamma: T = 6) { self.gamma = gamma }

    // U: [N, K] → B: [N, K] ∈ {−1, +1}
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ u: Tensor<T>, training: Bool) throws -> Tensor<T> {
        try require(u.rank == 2, "BiHalf: expected [N, K] input, got \(u.shape)")
        guard training else { return signWithZeroPositive(u) }
        let n = u.rows, k = u.cols
        try require(n >= 2, "BiHalf: a training batch needs at least 2 samples to split each bit half/half, got \(n)")
        var b = Tensor<T>(zeros: u.shape, value: -1)
        let top = n / 2  // ⌊N/2⌋ samples per bit get +1
        var column = [(value: T, row: Int32)](repeating: (0, 0), count: n)
        u.scalars.withUnsafeBufferPointer { pu in
            b.scalars.withUnsafeMutableBufferPointer { pb in
                column.withUnsafeMutableBufferPointer { col in
                    for j in 0..<k {
                        for i in 0..<n { col[i] = (pu[i * k + j], Int32(i)) }
                        // Descending by value, ascending row index among ties (the stable rule).
                        col.sort { $0.value > $1.value || ($0.value == $1.value && $0.row < $1.row) }
                        for r in 0..<top { pb[Int(col[r].row) * k + j] = 1 }
                    }
                }
            }
        }
        cache = (u, b)
        return b
    }

    // ∂L/∂B: [N, K] → ∂L/∂U = ∂L/∂B + γ(U − B)/(N·K)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let (u, b) = cache else { throw BihashError.invalidState("BiHalf: backward called before a training forward") }
        try require(gradOutput.shape == u.shape, "BiHalf: gradient shape \(gradOutput.shape) does not match \(u.shape)")
        return straightThroughWithPull(gradOutput, u: u, b: b, gamma: gamma)
    }

    public var summary: String { "BiHalf(γ=\(gamma))" }
}

/// sign(x) with sign(0) = +1 (bihash's convention everywhere; NaN maps to −1 like a clear bit).
@inlinable
public func signWithZeroPositive<T: TensorScalar>(_ x: Tensor<T>) -> Tensor<T> {
    x.map { $0 >= 0 ? 1 : -1 }
}

/// g + γ·(U − B)/(N·K): the straight-through gradient plus the pull of U toward its codes B (§1.2).
@inlinable
public func straightThroughWithPull<T: TensorScalar>(_ g: Tensor<T>, u: Tensor<T>, b: Tensor<T>, gamma: T) -> Tensor<T> {
    let scale = gamma / T(u.count)  // γ / (N·K): the code divides by B.numel()
    var out = g
    out.scalars.withUnsafeMutableBufferPointer { o in
        u.scalars.withUnsafeBufferPointer { pu in
            b.scalars.withUnsafeBufferPointer { pb in
                for i in 0..<o.count { o[i] += scale * (pu[i] - pb[i]) }
            }
        }
    }
    return out
}
