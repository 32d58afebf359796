import BihashCore

/// Bit-balance regulariser of the Sign+Reg baseline (ALGORITHMS.md §1.4a):
///     L_reg = ½ · mean_k ( (1/N) Σ_i B_ik )²
/// It is zero when every bit is +1 for exactly half the batch. Its gradient reaches U through the
/// straight-through path of the sign layer.
public enum BitBalanceRegularizer {
    /// L_reg for codes B: [N, K].
    public static func value<T: TensorScalar>(_ b: Tensor<T>) -> T {
        let n = b.rows, k = b.cols
        let means = b.sumRows().scalars.map { $0 / T(n) }           // m_k = (1/N) Σ_i B_ik
        return T(0.5) * means.reduce(0) { $0 + $1 * $1 } / T(k)     // ½ · mean_k m_k²
    }

    /// ∂L_reg/∂B_ik = m_k / (N·K).
    public static func gradient<T: TensorScalar>(_ b: Tensor<T>) -> Tensor<T> {
        let n = b.rows, k = b.cols
        let sums = b.sumRows().scalars
        var g = Tensor<T>(zeros: b.shape)
        let scale = T(1) / (T(n) * T(n) * T(k))                      // m_k/(N·K) = Σ_i B_ik / (N²·K)
        for i in 0..<n { for j in 0..<k { g.scalars[i * k + j] = sums[j] * scale } }
        return g
    }
}

/// GreedyHash's cubic quantisation penalty on the pre-sign outputs h (ALGORITHMS.md §2.5):
///     L_q = mean_{i,k} | |h_ik| − 1 |³
public enum CubicQuantizationPenalty {
    public static func value<T: TensorScalar>(_ h: Tensor<T>) -> T {
        guard h.count > 0 else { return 0 }
        var s = 0.0
        for v in h.scalars { let d = abs(abs(v.doubleValue) - 1); s += d * d * d }
        return T(s / Double(h.count))
    }

    /// ∂L_q/∂h = 3·(|h| − 1)·| |h| − 1 | · sign(h) / (N·K)   (d/dx |x|³ = 3x|x|, chained through |h|).
    public static func gradient<T: TensorScalar>(_ h: Tensor<T>) -> Tensor<T> {
        let scale = T(3) / T(max(1, h.count))
        return h.map { v in
            let d = abs(v) - 1
            let s: T = v > 0 ? 1 : (v < 0 ? -1 : 0)
            return scale * d * abs(d) * s
        }
    }
}
