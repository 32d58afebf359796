import BihashCore
import BihashNN

/// Locality-sensitive hashing by random Gaussian projections (sign random projections, Charikar 2002):
/// the data-independent "LSH" baseline of the hashing papers.
///
/// Bit k of x is sign(wₖ·(x − μ)) with wₖ ~ N(0, I_D) and μ the training mean. Classic LSH does not centre;
/// bihash centres by the training mean so that every hyperplane passes through the data's centre and each bit
/// splits the data roughly in half (better-balanced bits, the usual practice in the hashing literature's LSH
/// baselines). The centring is folded into the bias: b = −W·μ.
public enum LSH {
    /// Draws an LSH projection for `features` ([N, D]) and `bits` = K bits.
    ///
    /// - Parameters:
    ///   - x: training features [N, D], N ≥ 1, D ≥ 1, all finite; only their mean is used.
    ///   - bits: K, in 1...4096 (any K, also K > D).
    ///   - name: parameter name prefix of the returned layer (`<name>.weight`, `<name>.bias`).
    ///   - rng: the source of W; W's K·D entries are drawn row by row with `nextNormal()`, nothing else is drawn
    ///     (and nothing at all when the input is rejected).
    /// - Returns: `Linear(D → K)` with weight W [K, D] ~ N(0, 1) and bias b = −W·μ [K], so that
    ///   codes = sign(x·Wᵀ + b) with sign(0) = +1.
    /// - Throws: `BihashError.invalidArgument` for a bad shape, an empty set or K outside 1...4096;
    ///   `BihashError.numerical` for a NaN or infinite feature.
    public static func fit(features x: Tensor<Float>, bits: Int, name: String = "lsh",
                           using rng: inout SeededGenerator) throws -> Linear<Float> {
        try BaselineSupport.validate(x, bits: bits, method: "LSH")
        let d = x.cols
        let mean = BaselineSupport.columnMean(x)
        // Round the Gaussian draws to Float first so that the bias matches the stored weight exactly.
        let weight = (0..<(bits * d)).map { _ in Double(Float(rng.nextNormal())) }
        let bias = BaselineSupport.centringBias(weight: weight, mean: mean, bits: bits)
        return BaselineSupport.linear(weight: weight, bias: bias, inFeatures: d, bits: bits, name: name)
    }

    /// As `fit(features:bits:name:using:)` with a fresh `SeededGenerator(seed: seed)`: the same seed gives the
    /// same projection.
    public static func fit(features x: Tensor<Float>, bits: Int, seed: UInt64, name: String = "lsh") throws -> Linear<Float> {
        var rng = SeededGenerator(seed: seed)
        return try fit(features: x, bits: bits, name: name, using: &rng)
    }
}
