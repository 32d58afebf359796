import BihashCore
import BihashNN

/// The sign layer with a straight-through estimator (ALGORITHMS.md §1.4a "Sign layer", §2.5 GreedyHash).
///
/// Forward: B = sign(U), sign(0) = +1, in training and eval alike.
/// Backward: ∂L/∂U = ∂L/∂B + γ·(U − B)/(N·K); γ = 0.2 for the bi-half paper's sign baseline, γ = 0 for
/// GreedyHash's pure straight-through estimator.
public final class SignSTE<T: TensorScalar>: Layer {
    public typealias Scalar = T
    public let gamma: T
    private var cache: (u: Tensor<T>, b: Tensor<T>)?

    public init(gamma: T = 0.2) { self.gamma = gamma }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ u: Tensor<T>, training: Bool) throws -> Tensor<T> {
        try require(u.rank == 2, "SignSTE: expected [N, K] input, got \(u.shape)")
        let b = signWithZeroPositive(u)
        if training { cache = (u, b) }
        return b
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let (u, b) = cache else { throw BihashError.invalidState("SignSTE: backward called before a training forward") }
        try require(gradOutput.shape == u.shape, "SignSTE: gradient shape \(gradOutput.shape) does not match \(u.shape)")
        if gamma == 0 { return gradOutput }
        return straightThroughWithPull(gradOutput, u: u, b: b, gamma: gamma)
    }

    public var summary: String { gamma == 0 ? "Sign(STE)" : "Sign(STE, γ=\(gamma))" }
}
