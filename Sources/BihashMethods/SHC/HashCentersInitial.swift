import BihashCore

extension HashCenters {
    /// Stage 2a (ALGORITHMS.md §3.2): Hadamard (K a power of 2; rows of [H; −H], random balanced rows beyond 2K)
    /// or random initial centres, spread by the per-centre ℓp-box ADMM until the minimum pairwise distance is ≥ d.
    /// Deterministic for a seed. Returns [C, K] with entries ±1.
    /// - Throws: `invalidArgument` for bits ∉ 1…4096 or classes < 2; `numerical` if no set with minimum distance
    ///   ≥ d is found within the caps (see `HashCenters`).
    public static func initial(bits: Int, classes: Int, seed: UInt64) throws -> Tensor<Float> {
        let h = try initialRows(bits: bits, classes: classes, seed: seed)
        return Tensor(uncheckedShape: [classes, bits], scalars: h.map { Float($0) })
    }

    /// `initial` as a row-major [C·K] Double array (shared with the semantic stage).
    static func initialRows(bits k: Int, classes c: Int, seed: UInt64) throws -> [Double] {
        try validate(bits: k, classes: c)
        let d = try requiredDistance(bits: k, classes: c)
        var rng = SeededGenerator(seed: seed)
        var h = k & (k - 1) == 0 ? hadamardStart(bits: k, classes: c, rng: &rng) : randomStart(bits: k, classes: c, rng: &rng)
        if minimumDistance(h, classes: c, bits: k) < d {
            h = try lpBoxSweeps(h, bits: k, classes: c, d: d, rng: &rng)
        }
        let found = minimumDistance(h, classes: c, bits: k)
        guard found >= d else {
            throw BihashError.numerical(
                "SHC hash centres: the ℓp-box ADMM found no \(c) centres of \(k) bits with minimum Hamming distance ≥ \(d) "
                + "within \(maxSweeps) sweeps (best minimum \(found)); use more bits or fewer classes")
        }
        return h
    }

    // MARK: - Starting points (`CSQ_init`, `init_hash`)

    /// First C rows of [H_K; −H_K] (Sylvester Hadamard, as `scipy.linalg.hadamard`: H[i][j] = (−1)^popcount(i & j));
    /// rows beyond 2K are random balanced ±1 vectors (K/2 entries −1), redrawn up to 5 times until the pairwise
    /// distances have min > K/4 and mean ≥ K/2 (the last draw is kept otherwise).
    static func hadamardStart(bits k: Int, classes c: Int, rng: inout SeededGenerator) -> [Double] {
        var h = [Double](repeating: 0, count: c * k)
        for r in 0..<min(c, 2 * k) {
            let i = r % k, s: Double = r < k ? 1 : -1
            for j in 0..<k { h[r * k + j] = ((i & j).nonzeroBitCount & 1 == 0 ? 1 : -1) * s }
        }
        guard c > 2 * k else { return h }
        for _ in 0..<5 {
            for r in (2 * k)..<c {
                let perm = rng.permutation(k)
                for j in 0..<k { h[r * k + j] = 1 }
                for j in perm.prefix(k / 2) { h[r * k + j] = -1 }
            }
            // Pairs i < j only (deviation 4 in `HashCenters`).
            var minD = k + 1, total = 0
            h.withUnsafeBufferPointer { p in
                for i in 0..<c { for j in (i + 1)..<c { let t = hamming(p, i, j, k); minD = min(minD, t); total += t } }
            }
            let mean = Double(total) / Double(c * (c - 1) / 2)
            if 4 * minD > k && mean >= Double(k) / 2 { break }
        }
        return h
    }

    /// Independent random signs (`init_hash`: sign(U(−1, 1))).
    static func randomStart(bits k: Int, classes c: Int, rng: inout SeededGenerator) -> [Double] {
        (0..<(c * k)).map { _ in rng.nextUniform() < 0.5 ? -1 : 1 }
    }

    // MARK: - ℓp-box ADMM (`Lp_box`, `Lp_box_one`)

    static let maxSweeps = 50
    static let maxOuter = 1000
    static let maxInner = 10
    static let maxCapped = 100

    /// Distance statistics of a full set: st = mean + min − var over all pairs (`cal_hamm`), and the minimum.
    static func setScore(_ h: [Double], bits k: Int, classes c: Int) -> (st: Double, min: Int) {
        var dists = [Double](), minD = k + 1
        dists.reserveCapacity(c * (c - 1) / 2)
        h.withUnsafeBufferPointer { p in
            for i in 0..<c { for j in (i + 1)..<c { let t = hamming(p, i, j, k); minD = min(minD, t); dists.append(Double(t)) } }
        }
        let mean = dists.reduce(0, +) / Double(dists.count)
        let variance = dists.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(dists.count)
        return (mean + Double(minD) - variance, minD)
    }

    /// Up to 50 sweeps; in each, every centre with a neighbour closer than d is re-optimised by `lpBoxOne` with the
    /// others fixed. The best set by (min(d_min, d), st) is kept; stop once the minimum distance is ≥ d.
    static func lpBoxSweeps(_ start: [Double], bits k: Int, classes c: Int, d: Int,
                            rng: inout SeededGenerator) throws -> [Double] {
        var b = start
        var best = start
        let s0 = setScore(start, bits: k, classes: c)
        var bestKey = (min(s0.min, d), s0.st)
        for _ in 0..<maxSweeps {
            for i in 0..<c {
                // Distances of centre i to the others; skip a centre that already satisfies the constraint.
                var closest = k + 1
                b.withUnsafeBufferPointer { p in for j in 0..<c where j != i { closest = min(closest, hamming(p, i, j, k)) } }
                if closest >= d { continue }
                var others = [Double]()
                others.reserveCapacity((c - 1) * k)
                for j in 0..<c where j != i { others += b[(j * k)..<((j + 1) * k)] }
                let row = try lpBoxOne(Array(b[(i * k)..<((i + 1) * k)]), others: others, bits: k, count: c - 1, d: d, rng: &rng)
                b.replaceSubrange((i * k)..<((i + 1) * k), with: row)
            }
            let s = setScore(b, bits: k, classes: c)
            let key = (min(s.min, d), s.st)
            if key > bestKey { bestKey = key; best = b }
            if s.min >= d { return b }
        }
        return best
    }

    /// Per-centre ℓp-box ADMM (Wu & Ghanem's ℓp-box reformulation as in `Lp_box_one`):
    /// min cᵀb s.t. b ∈ [−1,1]^K ∩ {‖b‖² = K}, H₋ᵢ b ≤ K − 2d, with copies z1 (box), z2 (sphere), slack z3 ≥ 0,
    /// c = mean of the other centres, ρ from 1e-5 ×1.09 per outer iteration up to 1e7, dual step γ = golden ratio.
    /// Returns the best ±1 candidate sign(b) (the input when none is better).
    static func lpBoxOne(_ start: [Double], others h: [Double], bits k: Int, count m: Int, d: Int,
                         rng: inout SeededGenerator) throws -> [Double] {
        let bound = Double(k - 2 * d)  // inner-product bound: Hamming ≥ d ⇔ hᵀb ≤ K − 2d
        let gamma = (1 + 5.0.squareRoot()) / 2, tolerance = 1e-6, rhoCap = 1e7
        var rho = 1e-5
        // c = mean of the other centres (`cal_b`).
        var cvec = [Double](repeating: 0, count: k)
        for j in 0..<m { for t in 0..<k { cvec[t] += h[j * k + t] } }
        for t in 0..<k { cvec[t] /= Double(m) }
        // The b-update matrix (2ρI + ρHᵀH)⁻¹ = (1/ρ)(2I + HᵀH)⁻¹, factored once per centre. With m < K the
        // Woodbury form (2I + HᵀH)⁻¹ = ½(I − Hᵀ(2I + HHᵀ)⁻¹H) needs only an m×m inverse.
        let useWoodbury = m < k
        let n = useWoodbury ? m : k
        var gram = Tensor<Double>(zeros: [n, n])
        if useWoodbury {
            for i in 0..<m { for j in i..<m {
                var s = 0.0
                for t in 0..<k { s += h[i * k + t] * h[j * k + t] }
                gram[i, j] = s; gram[j, i] = s
            } }
        } else {
            for j in 0..<m { for a in 0..<k { let x = h[j * k + a]; for b2 in 0..<k { gram.scalars[a * k + b2] += x * h[j * k + b2] } } }
        }
        for i in 0..<n { gram[i, i] += 2 }
        var eye = Tensor<Double>(zeros: [n, n])
        for i in 0..<n { eye[i, i] = 1 }
        let inv = try Linalg.solve(gram, eye).scalars

        func hb(_ v: [Double]) -> [Double] {  // H v, [m]
            var out = [Double](repeating: 0, count: m)
            for j in 0..<m { var s = 0.0; for t in 0..<k { s += h[j * k + t] * v[t] }; out[j] = s }
            return out
        }
        func htv(_ v: [Double]) -> [Double] {  // Hᵀ v, [K]
            var out = [Double](repeating: 0, count: k)
            for j in 0..<m { let x = v[j]; if x != 0 { for t in 0..<k { out[t] += h[j * k + t] * x } } }
            return out
        }
        func applyInverse(_ r: [Double]) -> [Double] {  // (2I + HᵀH)⁻¹ r
            if useWoodbury {
                let u = hb(r)
                var w = [Double](repeating: 0, count: m)
                for i in 0..<m { var s = 0.0; for j in 0..<m { s += inv[i * m + j] * u[j] }; w[i] = s }
                let back = htv(w)
                return (0..<k).map { 0.5 * (r[$0] - back[$0]) }
            }
            var out = [Double](repeating: 0, count: k)
            for a in 0..<k { var s = 0.0; for b2 in 0..<k { s += inv[a * k + b2] * r[b2] }; out[a] = s }
            return out
        }
        /// (min(distance to others, d), mean + min − var of the distances) of sign(v) (`cal_one_hamm`).
        func score(_ v: [Double]) -> (key: (Int, Double), row: [Double], min: Int) {
            let s = v.map { $0 >= 0 ? 1.0 : -1.0 }
            let dots = hb(s)
            let dist = dots.map { 0.5 * (Double(k) - $0) }
            let mean = dist.reduce(0, +) / Double(m)
            let variance = dist.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(m)
            let mn = dist.min() ?? Double(k)
            return ((min(Int(mn), d), mean + mn - variance), s, Int(mn))
        }

        var best = score(start)
        var b = start
        var z1 = start, z2 = start
        var z3 = hb(start).map { bound - $0 }
        var y1 = (0..<k).map { _ in rng.nextUniform() }
        var y2 = (0..<k).map { _ in rng.nextUniform() }
        var y3 = (0..<m).map { _ in rng.nextUniform() }
        let boxTol = 1e-3
        var capped = 0
        for _ in 0..<maxOuter {
            var hB = [Double](repeating: 0, count: m)
            for _ in 0..<maxInner {
                // b-update: b = (1/ρ)(2I + HᵀH)⁻¹ (ρz1 + ρz2 + ρHᵀ(bound − z3) − y1 − y2 − Hᵀy3 − c).
                let back = htv((0..<m).map { bound - z3[$0] - y3[$0] / rho })
                let r = (0..<k).map { z1[$0] + z2[$0] + back[$0] - (y1[$0] + y2[$0] + cvec[$0]) / rho }
                b = applyInverse(r)
                hB = hb(b)
                // Unprojected z-updates.
                z1 = (0..<k).map { b[$0] + y1[$0] / rho }
                z2 = (0..<k).map { b[$0] + y2[$0] / rho }
                z3 = (0..<m).map { bound - hB[$0] - y3[$0] / rho }
                // Correct feasibility test (deviation 1): box, slack ≥ 0 and sphere.
                let inBox = z1.allSatisfy { $0 >= -1 && $0 <= 1 }
                let slackOK = z3.allSatisfy { $0 >= 0 }
                let sphereOK = abs(z2.reduce(0) { $0 + $1 * $1 } - Double(k)) <= boxTol
                let feasible = inBox && slackOK && sphereOK
                if !feasible {
                    // Projections: box clip, sphere √K·z/‖z‖, slack max(·, 0).
                    z1 = z1.map { min(max($0, -1), 1) }
                    let norm = z2.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    if norm > 0 { z2 = z2.map { Double(k).squareRoot() * $0 / norm } }
                    z3 = z3.map { max($0, 0) }
                }
                // Dual ascent with step γρ.
                for t in 0..<k { y1[t] += gamma * rho * (b[t] - z1[t]); y2[t] += gamma * rho * (b[t] - z2[t]) }
                for j in 0..<m { y3[j] += gamma * rho * (hB[j] + z3[j] - bound) }
                if feasible { break }
            }
            rho = min(1.09 * rho, rhoCap)
            if rho == rhoCap { capped += 1 }
            // Score sign(b) every outer iteration (deviation 6); stop once it is ≥ d from every other centre.
            let s = score(b)
            if s.key > best.key { best = s }
            if best.min >= d { break }
            var residual = 0.0
            for t in 0..<k { residual = max(residual, abs(b[t] - z1[t]), abs(b[t] - z2[t])) }
            for j in 0..<m { residual = max(residual, abs(hB[j] + z3[j] - bound)) }
            if residual < tolerance || capped >= maxCapped { break }
        }
        return best.row
    }
}
