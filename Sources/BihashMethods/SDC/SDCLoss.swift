import BihashCore
import BihashNN

/// The SDC loss (Ng et al., BMVC 2023; ALGORITHMS.md §2.2, SDC `models/loss/sdc.py`):
///
///     s_p = cos(v_a[p], v_b[p]),  t_p = cos(x_a[p], x_b[p]) (detached),   a = rows [0, P), b = rows [P, 2P)
///     order = argsort(t) ascending (stable: lower pair index first among equal t)
///     L_sdc = (1/P) Σ_p | s_{order[p]} − c_p |,   c_p = 2·F⁻¹_Beta(α,β)((2p − 1)/(2P)) − 1   (ascending)
///
/// i.e. the 1-D Wasserstein-1 distance between the code similarities and a Beta calibration distribution,
/// rank-matched through the *feature* similarity order: the pair with the lowest feature similarity is pushed to
/// the lowest quantile. An odd N drops its last row. With `orthoConstraint` (the contrastive variant) the targets
/// are clamped at 0: c ← max(c, 0).
public final class SDCLoss {
    public let beta: BetaDistribution
    public let orthoConstraint: Bool
    private let cosine = RowCosineSimilarity<Float>()
    private var targetsCache: [Int: [Float]] = [:]
    /// N, K and ∂L/∂s per pair from the last forward.
    private var cache: (n: Int, k: Int, gradS: [Float])?

    public init(alpha: Double = 5, beta: Double = 5, orthoConstraint: Bool = false) throws {
        self.beta = try BetaDistribution(a: alpha, b: beta)
        self.orthoConstraint = orthoConstraint
    }

    /// The calibration targets c_1…c_P (cached per P: they depend only on the batch size).
    public func targets(pairs: Int) throws -> [Float] {
        if let t = targetsCache[pairs] { return t }
        var t = try beta.calibrationTargets(pairs: pairs).map { Float($0) }
        if orthoConstraint { t = t.map { max($0, 0) } }
        targetsCache[pairs] = t
        return t
    }

    /// L_sdc for continuous codes v: [N, K] and the detached feature similarities t: [⌊N/2⌋] of the same pairs.
    public func forward(codes v: Tensor<Float>, featureSimilarity t: Tensor<Float>) throws -> Float {
        try require(v.rank == 2 && v.rows >= 2, "SDC loss: expected codes [N, K] with N ≥ 2, got \(v.shape)")
        let n = v.rows, p = n / 2
        try require(t.count == p, "SDC loss: \(t.count) feature similarities for N = \(n), expected \(p)")
        let c = try targets(pairs: p)
        let s = try cosine.forward(v.rows(0..<p), v.rows(p..<(2 * p)))
        // Stable ascending order of the feature similarities.
        let order = (0..<p).sorted { t.scalars[$0] < t.scalars[$1] || (t.scalars[$0] == t.scalars[$1] && $0 < $1) }
        var gradS = [Float](repeating: 0, count: p)
        var sum = 0.0
        for (rank, pair) in order.enumerated() {
            let r = s.scalars[pair] - c[rank]
            sum += Double(abs(r))
            gradS[pair] = (r > 0 ? 1 : (r < 0 ? -1 : 0)) / Float(p)  // d/ds |s − c| / P (subgradient 0 at 0)
        }
        cache = (n, v.cols, gradS)
        return Float(sum / Double(p))
    }

    /// ∂L_sdc/∂v: [N, K] (zero for a dropped odd row).
    public func backward() throws -> Tensor<Float> {
        guard let c = cache else { throw BihashError.invalidState("SDC loss: backward called before forward") }
        let p = c.gradS.count
        let (ga, gb) = try cosine.backward(Tensor(uncheckedShape: [p], scalars: c.gradS))
        var out = Tensor<Float>(zeros: [c.n, c.k])
        out.scalars.replaceSubrange(0..<(p * c.k), with: ga.scalars)
        out.scalars.replaceSubrange((p * c.k)..<(2 * p * c.k), with: gb.scalars)
        return out
    }
}

/// SDC's quantisation term (ALGORITHMS.md §2.2 step 5, `quan_type: cs`): L_q = mean_i (1 − cos(v_i, sign(v_i))),
/// with sign(0) = +1 and no gradient through the sign. It pushes every |v_ik| of a row toward one magnitude.
public final class CosineQuantizationLoss {
    private let cosine = RowCosineSimilarity<Float>()
    private var rows = 0

    public init() {}

    public func forward(_ v: Tensor<Float>) throws -> Float {
        try require(v.rank == 2 && v.rows >= 1, "quantisation loss: expected [N, K], got \(v.shape)")
        rows = v.rows
        let s = try cosine.forward(v, signWithZeroPositive(v))
        return 1 - s.mean()
    }

    /// ∂L_q/∂v: [N, K] = −(1/N)·∂cos(v_i, b_i)/∂v_i with b = sign(v) held constant.
    public func backward() throws -> Tensor<Float> {
        guard rows > 0 else { throw BihashError.invalidState("quantisation loss: backward called before forward") }
        let (gv, _) = try cosine.backward(Tensor(zeros: [rows], value: -1 / Float(rows)))
        return gv
    }
}
