import BihashCore

/// A set of SHC hash centres (ALGORITHMS.md §3.2–§3.3; Chen et al., ACM MM 2024, arXiv 2507.08404).
public struct HashCenterSet: Sendable {
    /// [C, K], entries ±1; row c is the centre of class c.
    public let centers: Tensor<Float>
    /// The required minimum pairwise Hamming distance d = d_max of `get_margin(K, C)`.
    public let requiredDistance: Int
    /// The minimum pairwise Hamming distance of `centers` (always ≥ `requiredDistance`).
    public let minimumDistance: Int
    /// (1/C²)·‖S − HᵀH/K‖²_F: at the initial centres (index 0), then after each refinement epoch (indices 1…E).
    public let objective: [Double]
    /// The index into `objective` of the returned `centers` (the smallest objective seen, as the released code keeps
    /// the H with the smallest loss1; 0 means the refinement never improved on the initial centres).
    public let selectedIndex: Int
}

/// SHC stage 2: the required minimum distance, the minimum-distance ("MDS") initial centres and the semantic
/// refinement (ALGORITHMS.md §3.2, §3.3, §4 item 11).
///
/// Deviations from the released `GenerateSemanticHashCenters.py` (following the paper's intent):
/// 1. ℓp-box ADMM, `in_range`: the released box test `item < -1 and item > 1` is always false. Here the test is
///    `z1 ∉ [−1, 1]`, so the "already feasible" shortcut (dual update without projection, leave the inner loop) is
///    only taken when z1, z2 and z3 really lie in their sets.
/// 2. Semantic stage, α-step: the released α is an int64 tensor (β·residual ≈ 1e-6·r truncates to 0) and, through a
///    stale loop variable, only column j = C−1 is touched. Here α is `Double` and every pair i ≠ j is updated,
///    α_ij += β_ij·(K − 2d − h_iᵀh_j − Kmat_ij). (Because every accepted H keeps all pairs ≥ d, the residual is 0 and
///    α stays 0 in exact arithmetic, so this does not change results; it makes the augmented Lagrangian correct.)
/// 3. β: the released α/β arguments of the loss (the per-pair β = 1e-6 of the slack term) are the only β here; the
///    CLI `--beta` of the released `run.py` is never read by stage 2 (nor, per §4 item 11, by stage 3), so there is
///    no β parameter in this API. The local constants λ₀ = 0.1, ρ = 0.2, μ = 0.625, β = 1e-6 and the 1e-4 weight
///    of the repulsion term are used as in the released code (η = 0.5: see deviation 10).
/// 4. `CSQ_init`: the released acceptance test of the random balanced rows includes the pairs (i, i) (distance 0),
///    so `min > K/4` never holds and all 5 retries always run. Here only pairs i < j are scored.
/// 5. `np.sign`/`torch.sign` map 0 to 0, which would put a 0 entry into a ±1 centre; here sign(0) = +1 in the ADMM
///    and a zero in the H-step candidate keeps the current bit.
/// 6. The ADMM stage checks the minimum distance *before* the first sweep (a while loop, not do-while): a
///    Hadamard set that already meets d is returned unchanged. In a sweep only centres with a neighbour closer
///    than d are re-optimised, a centre's ADMM stops as soon as sign(b) is ≥ d from all other centres, sign(b) is
///    scored after every outer iteration (not only once ρ is capped), and a candidate replaces the centre only if
///    it raises min(distance-to-others, d), or keeps it and raises mean + min − var (the released `or` could
///    trade a satisfied minimum for a better spread). A sweep result is kept when it raises (min(d_min, d), st).
/// 7. The semantic stage keeps the best H among the initial centres and all epochs (the released code starts
///    `min_loss = 999`, so its result is always one of the epochs even if all of them are worse).
/// 8. Randomness comes from `SeededGenerator(seed:)` instead of `random.seed(40)` / `np.random.seed(40)`.
/// 9. `requiredDistance` is computed with exact multi-precision integers instead of SciPy's floating `comb`
///    (identical on the spec table; exact at ties and for any K ≤ 4096).
/// 10. Semantic stage, H-step: the released step h_i ← sign(h_i − der_i/η) uses a fixed η = 0.5 (its comment: the
///    value matters a lot per dataset). It changes an entry only where h_ia·der_ia > η, and |der| shrinks like 1/K,
///    so from a Hadamard start at (K, C) = (64, 10) no step is ever taken and S does not change the centres; at
///    (32, 10) only a strongly clustered S moves them (the released script run on such starts behaves the same).
///    Here η is chosen per centre by an exact line search over all η > 0 on the semantic objective, and the step
///    is taken only if it lowers that objective while every pair stays ≥ d (`SemanticRefinement`). The objective
///    therefore never increases (the released fixed step can raise it, e.g. at K = 16).
///
/// Caps (runtime): ADMM ≤ 50 sweeps; per centre ≤ 1000 outer × 10 inner iterations and ≤ 100 iterations at the
/// ρ cap of 1e7 (all as released). In practice a centre stops once it is ≥ d from the others. The semantic stage
/// runs the released 30 epochs × 3 inner passes (each epoch is O(C²K + K³), a few ms for C = 100, K = 128).
public enum HashCenters {
    /// Largest supported code length.
    public static let maximumBits = 4096

    /// d_max of `get_margin(K, C)`: smallest d with Σ_{j<d} binom(K, j) ≥ 2^K / C (any K ≤ 4096).
    /// Computed exactly as C·Σ_{j<d} binom(K, j) ≥ 2^K with multi-precision integers (no overflow, no rounding).
    public static func requiredDistance(bits: Int, classes: Int) throws -> Int {
        try validate(bits: bits, classes: classes)
        // binom(K, j+1) = binom(K, j)·(K − j)/(j + 1), exact at every step.
        var binom = BigUInt(1)
        var sum = BigUInt(0)
        for d in 1...(bits + 1) {
            sum.add(binom)  // sum = Σ_{j<d} binom(K, j)
            var scaled = sum
            scaled.multiply(by: UInt64(classes))
            if scaled.isAtLeastPowerOfTwo(bits) { return d }
            let j = d - 1
            binom.multiply(by: UInt64(bits - j))
            binom.divideExactly(by: UInt64(j + 1))
        }
        return bits + 1  // unreachable: Σ_{j≤K} binom(K, j) = 2^K ≥ 2^K / C
    }

    static func validate(bits: Int, classes: Int) throws {
        try require(bits >= 1 && bits <= maximumBits, "SHC hash centres: bits must be in 1…\(maximumBits), got \(bits)")
        try require(classes >= 2, "SHC hash centres: need at least 2 classes, got \(classes)")
    }

    /// Hamming distance between two ±1 rows of length `k` starting at `a` and `b` in `h`.
    @inline(__always)
    static func hamming(_ h: UnsafeBufferPointer<Double>, _ a: Int, _ b: Int, _ k: Int) -> Int {
        var n = 0
        for t in 0..<k where h[a * k + t] != h[b * k + t] { n += 1 }
        return n
    }

    /// Minimum pairwise Hamming distance of the rows of a [C, K] ±1 matrix (K + 1 for a single row).
    static func minimumDistance(_ h: [Double], classes: Int, bits: Int) -> Int {
        var best = bits + 1
        h.withUnsafeBufferPointer { p in
            for i in 0..<classes { for j in (i + 1)..<max(i + 1, classes) { best = min(best, hamming(p, i, j, bits)) } }
        }
        return best
    }

    /// The public minimum distance of a centre tensor (used by tests and callers).
    public static func minimumDistance(of centers: Tensor<Float>) -> Int {
        minimumDistance(centers.scalars.map { Double($0) }, classes: centers.rows, bits: centers.cols)
    }
}

/// A minimal unsigned multi-precision integer (little-endian 64-bit limbs) for exact binomial sums.
struct BigUInt {
    var limbs: [UInt64]
    init(_ v: UInt64) { limbs = [v] }

    mutating func add(_ o: BigUInt) {
        if o.limbs.count > limbs.count { limbs += [UInt64](repeating: 0, count: o.limbs.count - limbs.count) }
        var carry: UInt64 = 0
        for i in 0..<limbs.count {
            let (s1, o1) = limbs[i].addingReportingOverflow(i < o.limbs.count ? o.limbs[i] : 0)
            let (s2, o2) = s1.addingReportingOverflow(carry)
            limbs[i] = s2
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
        if carry > 0 { limbs.append(carry) }
    }

    mutating func multiply(by m: UInt64) {
        var carry: UInt64 = 0
        for i in 0..<limbs.count {
            let (hi, lo) = limbs[i].multipliedFullWidth(by: m)
            let (s, o) = lo.addingReportingOverflow(carry)
            limbs[i] = s
            carry = hi &+ (o ? 1 : 0)
        }
        if carry > 0 { limbs.append(carry) }
    }

    /// Divides by `m`, which must divide the value exactly (true for the binomial recurrence).
    mutating func divideExactly(by m: UInt64) {
        var rem: UInt64 = 0
        for i in stride(from: limbs.count - 1, through: 0, by: -1) {
            let (q, r) = m.dividingFullWidth((high: rem, low: limbs[i]))
            limbs[i] = q
            rem = r
        }
        while limbs.count > 1 && limbs.last == 0 { limbs.removeLast() }
    }

    /// self ≥ 2^p.
    func isAtLeastPowerOfTwo(_ p: Int) -> Bool {
        var top = limbs.count - 1
        while top > 0 && limbs[top] == 0 { top -= 1 }
        if limbs[top] == 0 { return false }
        let bitLength = top * 64 + (64 - limbs[top].leadingZeroBitCount)
        return bitLength - 1 >= p
    }
}
