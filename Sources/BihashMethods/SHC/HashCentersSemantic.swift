import BihashCore

extension HashCenters {
    /// Stage 2b (ALGORITHMS.md §3.3): semantic refinement lowering (1/C²)‖S − HᵀH/K‖²_F from the `initial` centres
    /// without ever letting a pair fall below d. `similarity` is S [C, C] (row-normalised, diagonal 1; not
    /// necessarily symmetric). Deterministic for a seed (the seed only drives `initial`).
    /// - Throws: `invalidArgument` for a non-[C, C] or non-finite S, bits ∉ 1…4096 or C < 2; `numerical` when
    ///   `initial` finds no set with minimum distance ≥ d or a linear solve fails.
    public static func generate(similarity: Tensor<Double>, bits: Int, seed: UInt64) throws -> HashCenterSet {
        try require(similarity.rank == 2 && similarity.rows == similarity.cols,
                    "SHC hash centres: the class similarity S must be a square [C, C] matrix, got shape \(similarity.shape)")
        let c = similarity.rows
        try validate(bits: bits, classes: c)
        try require(similarity.isFinite, "SHC hash centres: the class similarity S [\(c), \(c)] contains NaN or infinity")
        let start = try initialRows(bits: bits, classes: c, seed: seed)  // row i = h_i (column i of the paper's H)
        return try refine(similarity: similarity, start: start, bits: bits)
    }

    /// The semantic refinement from given ±1 rows [C·K] whose pairs are all ≥ d apart (`generate` after `initial`).
    /// Runs `SemanticRefinement.epochs` epochs and keeps the H with the smallest objective (deviation 7).
    static func refine(similarity: Tensor<Double>, start: [Double], bits k: Int) throws -> HashCenterSet {
        let c = similarity.rows
        let d = try requiredDistance(bits: k, classes: c)
        var state = SemanticRefinement(similarity: similarity, rows: start, bits: k, requiredDistance: d)
        var objectives = [state.objective()]
        var bestH = state.h, bestIndex = 0
        for _ in 0..<SemanticRefinement.epochs {
            try state.epoch()
            objectives.append(state.objective())
            if objectives[objectives.count - 1] < objectives[bestIndex] { bestIndex = objectives.count - 1; bestH = state.h }
        }
        let minD = minimumDistance(bestH, classes: c, bits: k)
        guard minD >= d else {  // cannot happen (every accepted step keeps all pairs ≥ d); kept as a hard guarantee
            throw BihashError.numerical("SHC hash centres: refinement produced minimum distance \(minD) < d = \(d)")
        }
        return HashCenterSet(centers: Tensor(uncheckedShape: [c, k], scalars: bestH.map { Float($0) }),
                             requiredDistance: d, minimumDistance: minD, objective: objectives, selectedIndex: bestIndex)
    }
}

/// The state of SHC's semantic refinement (ALGORITHMS.md §3.3): centres H (rows h_i), multipliers Λ (rows λ_i) and
/// α, and the Gram matrix h_iᵀh_j (exact integers), with one epoch = M-step, K-step (slack), H-step (3 passes over
/// the centres), Λ-step, α-step.
///
/// H-step (deviation 10 in `HashCenters`): the released update of centre i is the linearised step
/// h_i ← sign(h_i − der_i/η) with a fixed η = 0.5, accepted whenever every pair stays ≥ d. An entry changes only
/// where h_ia·der_ia > η, and |der| scales like 1/K, so from a Hadamard start at (K, C) = (64, 10) no entry ever
/// passes and S never changes the centres (at (32, 10) only for a strongly clustered S). Here η is chosen by an exact line
/// search instead: every η > 0 gives one candidate (flip the m entries with the largest h_ia·der_ia > 0, m = 1, 2, …;
/// the released η = 0.5 is one of them), and the candidate with the smallest objective (1/C²)‖S − HᵀH/K‖² among
/// those keeping all pairs ≥ d replaces h_i if it lowers the objective. So the objective never increases and the
/// distance constraint always holds. Each candidate costs O(C) (only the pairs with centre i change).
struct SemanticRefinement {
    // Local constants of the released code (§3.3): Λ₀ = 0.1, ρ = 0.2, μ = 0.625, α₀ = 0, β = 1e-6, repulsion
    // weight 1e-4, 30 epochs × 3 inner passes. (The released η = 0.5 is replaced by the line search.)
    static let rho = 0.2, mu = 0.625, beta = 1e-6, repulsion = 1e-4, lambda0 = 0.1
    static let epochs = 30, innerPasses = 3
    /// A candidate must lower the objective by more than this (guards against accepting rounding noise).
    static let minimumImprovement = 1e-12

    let c: Int, k: Int, d: Int
    let s: [Double]               // S_ij at i·C + j
    let sT: Tensor<Double>        // Sᵀ [C, C]
    let bound: Double             // Hamming ≥ d ⇔ h_iᵀh_j ≤ K − 2d
    var h: [Double]               // [C, K], row i = h_i
    var lambda: [Double]          // [C, K], row i = Λ[:, i]
    var alpha: [Double]           // [C, C], Double and updated for all pairs (deviation 2)
    var gram: [Double]            // [C, C], h_iᵀh_j

    init(similarity: Tensor<Double>, rows: [Double], bits: Int, requiredDistance: Int) {
        c = similarity.rows; k = bits; d = requiredDistance
        s = similarity.scalars; sT = similarity.transposed()
        bound = Double(bits - 2 * requiredDistance)
        h = rows
        lambda = [Double](repeating: Self.lambda0, count: c * k)
        alpha = [Double](repeating: 0, count: c * c)
        gram = [Double](repeating: 0, count: c * c)
        for i in 0..<c { for j in 0..<c { gram[i * c + j] = dot(i, j) } }
    }

    private func dot(_ i: Int, _ j: Int) -> Double {
        var v = 0.0
        for a in 0..<k { v += h[i * k + a] * h[j * k + a] }
        return v
    }

    /// loss1 = (1/C²) Σ_ij (S_ij − h_iᵀh_j/K)².
    func objective() -> Double {
        var total = 0.0
        for i in 0..<(c * c) { let e = s[i] - gram[i] / Double(k); total += e * e }
        return total / Double(c * c)
    }

    /// The quantities fixed during one H-step.
    struct Linearisation {
        var m: [Double]        // Mᵀ [C, K], row i = m_i
        var mmT: [Double]      // MMᵀ [K, K]
        var ms: [Double]       // (MS)ᵀ [C, K], row i = M·S[:, i]
        var slack: [Double]    // Kmat [C, C]
        var hmm: [Double]      // H·MMᵀ [C, K], row i = (MMᵀh_i)ᵀ; refreshed when h_i changes
    }

    /// M-step M = (2/K²·HHᵀ + ρI)⁻¹(2/K·HS + Λ + ρH) and K-step Kmat_ij = max(K − 2d − h_iᵀh_j + α_ij/β, 0).
    func linearise() throws -> Linearisation {
        let kd = Double(k), rho = Self.rho
        let hT = Tensor<Double>(uncheckedShape: [c, k], scalars: h)
        // In row layout: Mᵀ = rows of P⁻¹(2/K·SᵀHᵀ + Λᵀ + ρHᵀ)ᵀ, with P = 2/K²·HHᵀ + ρI symmetric [K, K].
        var p = try Tensor.matmul(hT, hT, transposeA: true)  // HHᵀ
        for i in 0..<(k * k) { p.scalars[i] *= 2 / (kd * kd) }
        for i in 0..<k { p[i, i] += rho }
        var rhs = try Tensor.matmul(sT, hT)  // SᵀHᵀ = (HS)ᵀ [C, K]
        for i in 0..<(c * k) { rhs.scalars[i] = 2 / kd * rhs.scalars[i] + lambda[i] + rho * h[i] }
        let mT = try Linalg.solve(p, rhs.transposed()).transposed()
        let mmT = try Tensor.matmul(mT, mT, transposeA: true)
        var slack = [Double](repeating: 0, count: c * c)
        for i in 0..<c { for j in 0..<c where i != j {
            slack[i * c + j] = max(bound - gram[i * c + j] + alpha[i * c + j] / Self.beta, 0)
        } }
        return Linearisation(m: mT.scalars, mmT: mmT.scalars, ms: try Tensor.matmul(sT, mT).scalars, slack: slack,
                             hmm: try Tensor.matmul(hT, mmT).scalars)
    }

    /// der_i = 2/K²·MMᵀh_i − 2/K·M S[:, i] + λ_i + ρ(h_i − m_i)
    ///         + 1e-4·Σ_{j≠i}[2μh_j − 2α_ij h_j + β(2‖h_j‖²h_i − 2(K − 2d − Kmat_ij)h_j)]   (§3.3 step 3)
    func derivative(_ i: Int, _ lin: Linearisation, into der: inout [Double]) {
        let kd = Double(k), rho = Self.rho, beta = Self.beta
        for a in 0..<k {
            let t = i * k + a
            der[a] = 2 / (kd * kd) * lin.hmm[t] - 2 / kd * lin.ms[t] + lambda[t] + rho * (h[t] - lin.m[t])
        }
        let coefI = Self.repulsion * beta * 2 * kd * Double(c - 1)  // ‖h_j‖² = K for a ±1 centre
        for a in 0..<k { der[a] += coefI * h[i * k + a] }
        for j in 0..<c where j != i {
            let coefJ = Self.repulsion * (2 * Self.mu - 2 * alpha[i * c + j] - beta * 2 * (bound - lin.slack[i * c + j]))
            for a in 0..<k { der[a] += coefJ * h[j * k + a] }
        }
    }

    /// The line search over η for centre i (see the type's comment): the entries to flip, or nil to keep h_i.
    func lineSearch(_ i: Int, derivative der: [Double]) -> [Int]? {
        let kd = Double(k)
        // sign(h − der/η) flips entry a iff h_a·der_a > η: order the entries by h_a·der_a (ties by index).
        let g = (0..<k).map { h[i * k + $0] * der[$0] }
        let order = (0..<k).filter { g[$0] > 0 }.sorted { g[$0] > g[$1] || (g[$0] == g[$1] && $0 < $1) }
        if order.isEmpty { return nil }
        func term(_ j: Int, _ v: Double) -> Double {  // the two objective entries of pair (i, j)
            let e1 = s[i * c + j] - v / kd, e2 = s[j * c + i] - v / kd
            return e1 * e1 + e2 * e2
        }
        var dots = (0..<c).map { gram[i * c + $0] }
        let current = (0..<c).reduce(0.0) { $0 + ($1 == i ? 0 : term($1, dots[$1])) }
        var best = current - Self.minimumImprovement * Double(c * c), bestCount = 0
        for (m, a) in order.enumerated() {
            let ha = h[i * k + a]
            var feasible = true, value = 0.0
            for j in 0..<c where j != i {
                dots[j] -= 2 * ha * h[j * k + a]
                if dots[j] > bound { feasible = false }
                value += term(j, dots[j])
            }
            if feasible && value < best { best = value; bestCount = m + 1 }
        }
        return bestCount == 0 ? nil : Array(order[0..<bestCount])
    }

    /// One epoch: M-step, K-step, H-step (3 passes, line search per centre), Λ-step, α-step.
    mutating func epoch() throws {
        var lin = try linearise()
        var der = [Double](repeating: 0, count: k)
        for _ in 0..<Self.innerPasses {
            for i in 0..<c {
                derivative(i, lin, into: &der)
                guard let flips = lineSearch(i, derivative: der) else { continue }
                for a in flips { h[i * k + a] = -h[i * k + a] }
                for j in 0..<c where j != i { let v = dot(i, j); gram[i * c + j] = v; gram[j * c + i] = v }
                for a in 0..<k {  // row i of H·MMᵀ
                    var v = 0.0
                    for b in 0..<k { v += lin.mmT[a * k + b] * h[i * k + b] }
                    lin.hmm[i * k + a] = v
                }
            }
        }
        // Λ-step: Λ_i += ρ(h_i − m_i).
        for t in 0..<(c * k) { lambda[t] += Self.rho * (h[t] - lin.m[t]) }
        // α-step over all pairs (deviation 2): α_ij += β(K − 2d − h_iᵀh_j − Kmat_ij).
        for i in 0..<c { for j in 0..<c where i != j {
            alpha[i * c + j] += Self.beta * (bound - gram[i * c + j] - lin.slack[i * c + j])
        } }
    }
}
