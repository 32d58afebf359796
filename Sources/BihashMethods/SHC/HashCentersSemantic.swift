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
        let k = bits
        let d = try requiredDistance(bits: k, classes: c)
        var h = try initialRows(bits: k, classes: c, seed: seed)  // row i = h_i (column i of the paper's H)
        let s = similarity.scalars                                // s[i*c + j] = S_ij
        let kd = Double(k)

        func objective(_ h: [Double]) throws -> Double {  // loss1 = (1/C²) Σ_ij (S_ij − h_iᵀh_j/K)²
            let hT = Tensor<Double>(uncheckedShape: [c, k], scalars: h)
            let gram = try Tensor.matmul(hT, hT, transposeB: true).scalars
            var total = 0.0
            for i in 0..<(c * c) { let e = s[i] - gram[i] / kd; total += e * e }
            return total / Double(c * c)
        }

        // Local constants of the released code (§3.3): Λ₀ = 0.1, ρ = 0.2, μ = 0.625, η = 0.5, α = 0, β = 1e-6,
        // 30 epochs × 3 inner passes, repulsion weight 1e-4.
        let rho = 0.2, mu = 0.625, eta = 0.5, beta = 1e-6, repulsion = 1e-4
        let epochs = 30, innerPasses = 3
        let bound = kd - 2 * Double(d)  // Hamming ≥ d ⇔ h_iᵀh_j ≤ K − 2d
        var lambda = [Double](repeating: 0.1, count: c * k)  // Λ, row i = Λ[:, i]
        var alpha = [Double](repeating: 0, count: c * c)     // Double, all pairs (deviation 2)
        let sT = similarity.transposed()

        var objectives = [try objective(h)]
        var bestH = h, bestIndex = 0
        for _ in 0..<epochs {
            let hT = Tensor<Double>(uncheckedShape: [c, k], scalars: h)
            // M-step: M = (2/K²·HHᵀ + ρI)⁻¹(2/K·HS + Λ + ρH); in row layout Mᵀ = P⁻¹-applied rows of
            // (2/K·SᵀHᵀ + Λᵀ + ρHᵀ), with P = 2/K²·HHᵀ + ρI symmetric [K, K].
            var p = try Tensor.matmul(hT, hT, transposeA: true)  // HHᵀ [K, K]
            for i in 0..<(k * k) { p.scalars[i] *= 2 / (kd * kd) }
            for i in 0..<k { p[i, i] += rho }
            var rhs = try Tensor.matmul(sT, hT)  // SᵀHᵀ = (HS)ᵀ [C, K]
            for i in 0..<(c * k) { rhs.scalars[i] = 2 / kd * rhs.scalars[i] + lambda[i] + rho * h[i] }
            let mT = try Linalg.solve(p, rhs.transposed()).transposed()  // Mᵀ [C, K], row i = m_i
            let m = mT.scalars
            // Quantities of the H-step gradient: MMᵀ [K, K] and (MS)ᵀ = SᵀMᵀ [C, K] (row i = M·S[:, i]).
            let mmTTensor = try Tensor.matmul(mT, mT, transposeA: true)
            let mmT = mmTTensor.scalars
            // Row i of H·MMᵀ is (MMᵀh_i)ᵀ; it changes only when h_i is replaced (then recomputed).
            var hmm = try Tensor.matmul(hT, mmTTensor).scalars
            let ms = try Tensor.matmul(sT, mT).scalars
            // K-step (slack): Kmat_ij = max(K − 2d − h_iᵀh_j + α_ij/β, 0).
            var gramH = try Tensor.matmul(hT, hT, transposeB: true).scalars  // h_iᵀh_j, [C, C]
            var slack = [Double](repeating: 0, count: c * c)
            for i in 0..<c { for j in 0..<c where i != j { slack[i * c + j] = max(bound - gramH[i * c + j] + alpha[i * c + j] / beta, 0) } }

            // H-step: 3 passes of per-centre sign steps, accepted only if every pair with centre i stays ≥ d
            // (§4 item 11; the rest of the set already satisfies it, so this equals the released global check).
            var der = [Double](repeating: 0, count: k), cand = [Double](repeating: 0, count: k)
            for _ in 0..<innerPasses {
                for i in 0..<c {
                    // der_i = 2/K²·MMᵀh_i − 2/K·MS[:, i] + Λ_i + ρ(h_i − m_i) + 1e-4·Σ_{j≠i}[2μh_j − 2α_ij h_j
                    //         + β(2‖h_j‖²h_i − 2(K − 2d − Kmat_ij)h_j)]
                    for a in 0..<k {
                        der[a] = 2 / (kd * kd) * hmm[i * k + a] - 2 / kd * ms[i * k + a] + lambda[i * k + a] + rho * (h[i * k + a] - m[i * k + a])
                    }
                    h.withUnsafeBufferPointer { hp in
                        der.withUnsafeMutableBufferPointer { dp in
                            let coefI = repulsion * beta * 2 * kd * Double(c - 1)  // ‖h_j‖² = K for a ±1 centre
                            for a in 0..<k { dp[a] += coefI * hp[i * k + a] }
                            for j in 0..<c where j != i {
                                let coefJ = repulsion * (2 * mu - 2 * alpha[i * c + j] - beta * 2 * (bound - slack[i * c + j]))
                                for a in 0..<k { dp[a] += coefJ * hp[j * k + a] }
                            }
                        }
                    }
                    var changed = false
                    for a in 0..<k {
                        let v = h[i * k + a] - der[a] / eta
                        cand[a] = v > 0 ? 1 : (v < 0 ? -1 : h[i * k + a])  // sign(0) keeps the bit (deviation 5)
                        if cand[a] != h[i * k + a] { changed = true }
                    }
                    if !changed { continue }
                    var ok = true
                    var dots = [Double](repeating: 0, count: c)
                    h.withUnsafeBufferPointer { hp in
                        cand.withUnsafeBufferPointer { cp in
                            for j in 0..<c where j != i {
                                var dot = 0.0
                                for a in 0..<k { dot += cp[a] * hp[j * k + a] }
                                if dot > bound { ok = false; break }
                                dots[j] = dot
                            }
                        }
                    }
                    if !ok { continue }
                    h.replaceSubrange((i * k)..<((i + 1) * k), with: cand)
                    for a in 0..<k {
                        var v = 0.0
                        for b2 in 0..<k { v += mmT[a * k + b2] * cand[b2] }
                        hmm[i * k + a] = v
                    }
                    for j in 0..<c where j != i { gramH[i * c + j] = dots[j]; gramH[j * c + i] = dots[j] }
                }
            }
            // Λ-step: Λ_i += ρ(h_i − m_i).
            for i in 0..<(c * k) { lambda[i] += rho * (h[i] - m[i]) }
            // α-step over all pairs (deviation 2): α_ij += β(K − 2d − h_iᵀh_j − Kmat_ij).
            for i in 0..<c { for j in 0..<c where i != j {
                alpha[i * c + j] += beta * (bound - gramH[i * c + j] - slack[i * c + j])
            } }
            let loss = try objective(h)
            objectives.append(loss)
            if loss < objectives[bestIndex] { bestIndex = objectives.count - 1; bestH = h }  // deviation 7
        }
        let minD = minimumDistance(bestH, classes: c, bits: k)
        guard minD >= d else {  // cannot happen (every accepted step keeps all pairs ≥ d); kept as a hard guarantee
            throw BihashError.numerical("SHC hash centres: refinement produced minimum distance \(minD) < d = \(d)")
        }
        return HashCenterSet(centers: Tensor(uncheckedShape: [c, k], scalars: bestH.map { Float($0) }),
                             requiredDistance: d, minimumDistance: minD, objective: objectives, selectedIndex: bestIndex)
    }
}
