import BihashCore
import BihashNN

/// Validation and small helpers shared by the non-deep baselines (LSH, ITQ).
enum BaselineSupport {
    /// Checks a training matrix: 2-D [N, D], N ≥ 1, D ≥ 1, every value finite; and 1 ≤ bits ≤ 4096.
    static func validate(_ x: Tensor<Float>, bits: Int, method: String) throws {
        try require(x.rank == 2, "\(method): features must be a 2-D matrix [N, D], got shape \(x.shape)")
        try require(x.rows >= 1, "\(method): the training set is empty (N = 0)")
        try require(x.cols >= 1, "\(method): features have no dimensions (D = 0)")
        try require((1...PackedCodes.maxBits).contains(bits),
                    "\(method): number of bits K must be in 1...\(PackedCodes.maxBits), got \(bits)")
        if let i = x.scalars.firstIndex(where: { !$0.isFinite }) {
            throw BihashError.numerical(
                "\(method): feature [\(i / x.cols), \(i % x.cols)] is \(x.scalars[i]); features must be finite (no NaN or infinity)")
        }
    }

    /// Column means μ_d = (1/N) Σ_n x_nd, accumulated in Double.
    static func columnMean(_ x: Tensor<Float>) -> [Double] {
        let n = x.rows, d = x.cols
        var mean = [Double](repeating: 0, count: d)
        x.scalars.withUnsafeBufferPointer { px in
            for i in 0..<n {
                let row = px.baseAddress! + i * d
                for j in 0..<d { mean[j] += Double(row[j]) }
            }
        }
        let inv = 1 / Double(n)
        for j in 0..<d { mean[j] *= inv }
        return mean
    }

    /// A `Linear<Float>(D → K)` holding the given weight [K, D] and bias [K] (both row-major, Double).
    ///
    /// The layer is created with a throw-away generator so that building it draws nothing from the caller's.
    static func linear(weight: [Double], bias: [Double], inFeatures d: Int, bits k: Int, name: String) -> Linear<Float> {
        var scratch = SeededGenerator(seed: 0)
        let layer = Linear<Float>(d, k, name: name, using: &scratch)
        layer.weight.value = Tensor(uncheckedShape: [k, d], scalars: weight.map { Float($0) })
        layer.bias.value = Tensor(uncheckedShape: [k], scalars: bias.map { Float($0) })
        return layer
    }

    /// b = −W·μ, so that x·Wᵀ + b = (x − μ)·Wᵀ: the centring folded into the layer's bias.
    static func centringBias(weight: [Double], mean: [Double], bits k: Int) -> [Double] {
        let d = mean.count
        return (0..<k).map { r in
            var s = 0.0
            for j in 0..<d { s += weight[r * d + j] * mean[j] }
            return -s
        }
    }
}
