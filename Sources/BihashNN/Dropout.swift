import BihashCore

/// Inverted dropout (PyTorch `nn.Dropout`): in training each element is kept with probability 1 − p and
/// scaled by 1/(1 − p), otherwise zeroed; in eval the layer is the identity.
///
/// The mask comes from the layer's own `generator`, so a run is reproducible from its seed. Tests that need
/// the same mask for several forward passes (finite differences) save and restore `generator`.
/// With p = 1 every element is dropped (output and gradient zero), as PyTorch.
public final class Dropout<T: TensorScalar>: Layer {
    public typealias Scalar = T
    /// Drop probability p ∈ [0, 1].
    public let probability: T
    /// The source of the masks; each training forward draws one uniform number per element.
    public var generator: SeededGenerator
    /// The scaled mask of the last training forward: 0 or 1/(1 − p) per element, same shape as the input.
    public private(set) var mask: Tensor<T>?

    /// A dropout layer with drop probability `probability` and masks drawn from `SeededGenerator(seed:)`.
    /// - Throws: `BihashError.invalidArgument` unless 0 ≤ p ≤ 1.
    public init(probability: T = 0.5, seed: UInt64) throws {
        try require(probability >= 0 && probability <= 1, "Dropout: probability must be in [0, 1], got \(probability)")
        self.probability = probability
        self.generator = SeededGenerator(seed: seed)
    }

    // x: [N, D] → y: [N, D]
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, training: Bool) throws -> Tensor<T> {
        guard training else { return x }
        let n = x.count
        let p = probability.doubleValue
        // Keep with probability 1 − p (a uniform draw u ≥ p); kept elements are scaled so E[y] = x.
        let keepScale: T = p < 1 ? T(1 / (1 - p)) : 0
        let m = [T](unsafeUninitializedCapacity: n) { buf, c in
            if p == 0 {
                buf.initialize(repeating: 1)
            } else {
                for i in 0..<n { buf[i] = generator.nextUniform() >= p ? keepScale : 0 }
            }
            c = n
        }
        let maskTensor = Tensor(uncheckedShape: x.shape, scalars: m)
        mask = maskTensor
        return x.zipElements(maskTensor, *)
    }

    // dy: [N, D] → dx = dy ⊙ mask
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        guard let m = mask else { throw backwardBeforeForward(summary) }
        try require(gradOutput.shape == m.shape, "\(summary): gradient shape \(gradOutput.shape) does not match output \(m.shape)")
        return gradOutput.zipElements(m, *)
    }

    public var summary: String { "Dropout(p=\(probability))" }
}
