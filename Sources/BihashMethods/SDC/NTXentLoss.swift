import BihashCore
import BihashNN
import Foundation

/// SimCLR's NT-Xent loss on two views (ALGORITHMS.md §2.2 "Contrastive variant", SDC `models/loss/simclr.py`):
///
///     z_i = v_i / ‖v_i‖ for the 2N rows [view1; view2],   s_ij = z_i·z_j / τ,   s_ii excluded
///     ℓ_i = −s_{i,pos(i)} + log Σ_{j≠i} exp(s_ij),   pos(i) = i ± N,     L = (1/2N) Σ_i ℓ_i
///
/// (the cross-entropy of each row's softmax over the other 2N − 1 rows, summed over rows and divided by 2N).
public final class NTXentLoss {
    public let temperature: Float
    private var cache: (z: Tensor<Float>, norms: [Float], softmax: Tensor<Float>)?

    public init(temperature: Float = 0.3) throws {
        try require(temperature > 0 && temperature.isFinite, "NT-Xent temperature must be > 0, got \(temperature)")
        self.temperature = temperature
    }

    /// L for view codes v1, v2: [N, K] each (row i of v1 and row i of v2 are the two views of one sample).
    public func forward(_ v1: Tensor<Float>, _ v2: Tensor<Float>) throws -> Float {
        try require(v1.rank == 2 && v1.shape == v2.shape && v1.rows >= 1,
                    "NT-Xent: expected two views of the same shape [N, K], got \(v1.shape) and \(v2.shape)")
        let n = v1.rows, k = v1.cols, m = 2 * n
        var z = Tensor<Float>(uncheckedShape: [m, k], scalars: v1.scalars + v2.scalars)
        var norms = [Float](repeating: 0, count: m)
        for i in 0..<m {  // z_i = v_i / max(‖v_i‖, 1e-12), as F.normalize
            var s: Float = 0
            for j in 0..<k { s += z.scalars[i * k + j] * z.scalars[i * k + j] }
            norms[i] = max(s.squareRoot(), 1e-12)
            for j in 0..<k { z.scalars[i * k + j] /= norms[i] }
        }
        var logits = try Tensor<Float>.matmul(z, z, transposeB: true)  // [2N, 2N] cosine similarities
        var total = 0.0
        for i in 0..<m {
            var maxLogit = -Float.infinity
            for j in 0..<m where j != i {
                logits.scalars[i * m + j] /= temperature
                maxLogit = max(maxLogit, logits.scalars[i * m + j])
            }
            var sum: Float = 0
            for j in 0..<m where j != i { sum += Foundation.expf(logits.scalars[i * m + j] - maxLogit) }
            let pos = (i + n) % m
            total += Double(maxLogit + Foundation.logf(sum) - logits.scalars[i * m + pos])  // −s_pos + logsumexp
            for j in 0..<m {  // keep the softmax for backward; the diagonal is excluded (probability 0)
                logits.scalars[i * m + j] = j == i ? 0 : Foundation.expf(logits.scalars[i * m + j] - maxLogit) / sum
            }
        }
        cache = (z, norms, logits)
        return Float(total / Double(m))
    }

    /// (∂L/∂v1, ∂L/∂v2).
    public func backward() throws -> (Tensor<Float>, Tensor<Float>) {
        guard let (z, norms, softmax) = cache else { throw BihashError.invalidState("NT-Xent: backward called before forward") }
        let m = z.rows, n = m / 2, k = z.cols
        // ∂L/∂s_ij = (softmax_ij − [j = pos(i)]) / 2N; s = z zᵀ / τ, so ∂L/∂z = (G + Gᵀ) z / τ.
        var g = softmax
        for i in 0..<m { g.scalars[i * m + (i + n) % m] -= 1 }
        let scale = 1 / (Float(m) * temperature)
        var gsym = g
        for i in 0..<m { for j in 0..<m { gsym.scalars[i * m + j] = (g.scalars[i * m + j] + g.scalars[j * m + i]) * scale } }
        let dz = try Tensor<Float>.matmul(gsym, z)
        // Through the normalisation: ∂L/∂v = (∂L/∂z − z·(z·∂L/∂z)) / ‖v‖.
        var dv = dz
        for i in 0..<m {
            var dot: Float = 0
            for j in 0..<k { dot += z.scalars[i * k + j] * dz.scalars[i * k + j] }
            for j in 0..<k { dv.scalars[i * k + j] = (dz.scalars[i * k + j] - z.scalars[i * k + j] * dot) / norms[i] }
        }
        return (dv.rows(0..<n), dv.rows(n..<m))
    }
}
