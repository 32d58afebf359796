import BihashCore

/// Inference BatchNorm folded into the convolution before it (forward only, frozen statistics).
///
/// BN(z) = γ·(z − μ)/√(σ² + ε) + β. With z = w ⋆ x + b this is w' ⋆ x + b' where, per output channel o,
/// scale_o = γ_o/√(σ²_o + ε), w'_o = scale_o·w_o and b'_o = scale_o·(b_o − μ_o) + β_o.
public struct BatchNormFolding: Sendable {
    /// Per-channel scale γ/√(σ² + ε).
    public let scale: [Float]
    /// Per-channel shift β − μ·scale.
    public let shift: [Float]

    /// Folding constants for BatchNorm parameters of `channels` channels (each [channels]).
    /// - Throws: `BihashError.invalidArgument` for other shapes, non-finite values, a negative variance or ε ≤ 0.
    public init(gamma: Tensor<Float>, beta: Tensor<Float>, runningMean: Tensor<Float>, runningVar: Tensor<Float>,
                epsilon: Float) throws {
        let c = gamma.count
        for (name, t) in [("weight", gamma), ("bias", beta), ("running_mean", runningMean), ("running_var", runningVar)] {
            try require(t.shape == [c], "BatchNorm \(name) must be [\(c)], got \(t.shape)")
            try require(t.isFinite, "BatchNorm \(name) has non-finite values")
        }
        try require(epsilon > 0 && epsilon.isFinite, "BatchNorm epsilon must be > 0, got \(epsilon)")
        try require(runningVar.scalars.allSatisfy { $0 >= 0 }, "BatchNorm running_var has negative values")
        // Computed in Double, rounded once.
        var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
        for o in 0..<c {
            let s = Double(gamma.scalars[o]) / (Double(runningVar.scalars[o]) + Double(epsilon)).squareRoot()
            scale[o] = Float(s)
            shift[o] = Float(Double(beta.scalars[o]) - Double(runningMean.scalars[o]) * s)
        }
        self.scale = scale
        self.shift = shift
    }

    /// The folded weight of a convolution whose weight has the output channel first ([Cout, …], PyTorch order),
    /// and the folded bias given its bias (nil = none).
    /// - Throws: `BihashError.invalidArgument` if the output channels do not match.
    public func fold(weight: Tensor<Float>, bias: Tensor<Float>? = nil) throws -> (weight: Tensor<Float>, bias: Tensor<Float>) {
        let c = scale.count
        try require(weight.rank >= 1 && weight.shape[0] == c, "BatchNorm of \(c) channels cannot fold into a weight of shape \(weight.shape)")
        if let bias { try require(bias.shape == [c], "BatchNorm of \(c) channels cannot fold into a bias of shape \(bias.shape)") }
        let per = weight.count / c
        var w = weight.scalars
        for o in 0..<c {
            let s = Double(scale[o])
            for i in (o * per)..<((o + 1) * per) { w[i] = Float(Double(w[i]) * s) }
        }
        var b = [Float](repeating: 0, count: c)
        for o in 0..<c { b[o] = Float(Double(bias?.scalars[o] ?? 0) * Double(scale[o]) + Double(shift[o])) }
        return (Tensor(uncheckedShape: weight.shape, scalars: w), Tensor(uncheckedShape: [c], scalars: b))
    }
}
