import BihashCore
import BihashNN
import CBLAS

/// A fitted ITQ model: the inference layer plus everything needed to inspect or reproduce the fit.
public struct ITQModel {
    /// `Linear(D → K)` with weight W = (P·R)ᵀ [K, D] and bias b = −μ·P·R [K]: codes = sign(x·Wᵀ + b), sign(0) = +1.
    public let layer: Linear<Float>
    /// μ [D], the training mean (accumulated in Double).
    public let mean: [Double]
    /// P [D, K]: the top-K eigenvectors of the covariance as columns, in descending eigenvalue order, each
    /// sign-normalised so that its largest-magnitude component is positive (see `Linalg.symmetricEigen`).
    public let projection: Tensor<Double>
    /// The K largest eigenvalues of the covariance (1/N)·Σ(x − μ)ᵀ(x − μ), descending.
    public let eigenvalues: [Double]
    /// R₀ [K, K], the orthogonal rotation the iterations started from.
    public let initialRotation: Tensor<Double>
    /// R [K, K], the learned orthogonal rotation.
    public let rotation: Tensor<Double>
    /// Quantisation loss Q(B, R) = ‖B − V·R‖²_F with B = sign(V·R), V = (X − μ)·P: element t is the loss of the
    /// rotation after t iterations (element 0 is R₀'s), so there are `iterations + 1` values, non-increasing.
    public let quantizationLoss: [Double]
}

/// Iterative quantisation (Gong & Lazebnik, "Iterative Quantization: A Procrustes Approach to Learning Binary
/// Codes", CVPR 2011): PCA to K dimensions, then an orthogonal rotation R that minimises the quantisation loss
/// Q(B, R) = ‖B − V·R‖²_F (the paper's quantisation loss) by alternating B = sign(V·R) and an orthogonal
/// Procrustes step for R.
///
/// Numerics: features stay Float and the two big products (the D×D scatter matrix by `ssyrk`, the projection
/// V = (X − μ)·P by `sgemm`) run in single precision; the eigen-problem, the N×K embedding V and the K×K
/// iterations run in Double, which keeps the eigenvectors and the loss sequence accurate at little cost. The
/// covariance and its eigen-solver copy take about 20·D² bytes (≈ 340 MB at D = 4096), fine for D up to a few
/// thousand; only the K leading eigenvectors are computed (`Linalg.symmetricEigen(_:largest:)`).
public enum ITQ {
    /// The iteration count of the paper and of the authors' code ("50 is usually enough").
    public static let defaultIterations = 50

    /// Fits ITQ with a random initial rotation R₀ = `randomRotation(K)` drawn from a fresh
    /// `SeededGenerator(seed: seed)`, and returns the inference layer (codes = sign(x·Wᵀ + b)).
    ///
    /// - Parameters:
    ///   - x: training features [N, D], all finite.
    ///   - bits: K, with 1 ≤ K ≤ min(D, N, 4096) (PCA cannot give more than D directions, nor more than N).
    ///   - iterations: number of {B-step, R-step} alternations, ≥ 0 (0 gives PCA + random rotation).
    ///   - seed: seeds R₀; the same seed and data give the same layer.
    ///   - name: parameter name prefix of the returned layer.
    /// - Throws: `BihashError.invalidArgument` for bad shapes or ranges, `BihashError.numerical` for NaN or
    ///   infinite features or a LAPACK failure.
    public static func fit(features x: Tensor<Float>, bits: Int, iterations: Int = defaultIterations, seed: UInt64,
                           name: String = "itq") throws -> Linear<Float> {
        var rng = SeededGenerator(seed: seed)
        return try fitModel(features: x, bits: bits, iterations: iterations, name: name, using: &rng).layer
    }

    /// Fits ITQ with R₀ drawn from `rng` (K² normals, drawn only after the input has been validated) and
    /// returns the model with its diagnostics (PCA, rotations, per-iteration quantisation loss).
    /// - Throws: as `fit(features:bits:iterations:seed:name:)`.
    public static func fitModel(features x: Tensor<Float>, bits: Int, iterations: Int = defaultIterations,
                                name: String = "itq", using rng: inout SeededGenerator) throws -> ITQModel {
        try validate(x, bits: bits, iterations: iterations)
        let r0 = try randomRotation(bits, using: &rng)
        return try fitModel(features: x, bits: bits, iterations: iterations, initialRotation: r0, name: name)
    }

    /// Fits ITQ from a given initial rotation R₀ ([K, K], orthogonal to within 1e-6): deterministic, used to
    /// compare with the NumPy reference (tools/reference/baselines_itq.py) independently of the RNG.
    ///
    /// Unlike the authors' MATLAB loop (`for iter=0:n_iter`, n_iter + 1 rotation updates), `iterations` is the
    /// exact number of rotation updates.
    /// - Throws: as `fit(features:bits:iterations:seed:name:)`, plus `invalidArgument` for a bad R₀.
    public static func fitModel(features x: Tensor<Float>, bits k: Int, iterations: Int = defaultIterations,
                                initialRotation r0: Tensor<Double>, name: String = "itq") throws -> ITQModel {
        try validate(x, bits: k, iterations: iterations)
        try require(r0.shape == [k, k], "ITQ: initial rotation must be [\(k), \(k)], got shape \(r0.shape)")
        try require(r0.isFinite, "ITQ: initial rotation has a non-finite entry")
        let gram = try Tensor.matmul(r0, r0, transposeA: true)
        for i in 0..<k {
            for j in 0..<k where abs(gram[i, j] - (i == j ? 1 : 0)) > 1e-6 {
                throw BihashError.invalidArgument(
                    "ITQ: initial rotation is not orthogonal: (R₀ᵀR₀)[\(i), \(j)] = \(gram[i, j])")
            }
        }
        let n = x.rows, d = x.cols

        // Centre: X̃ = X − 1μᵀ (the paper assumes zero-centred data).
        let mean = BaselineSupport.columnMean(x)
        var centred = x
        centred.scalars.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                let row = p.baseAddress! + i * d
                for j in 0..<d { row[j] -= Float(mean[j]) }
            }
        }

        // PCA (the paper's first step): the top-K eigenvectors of the covariance (1/N)·X̃ᵀX̃. ssyrk fills the
        // upper triangle of the row-major D×D scatter matrix; mirror it so the matrix is exactly symmetric.
        var scatter = [Float](repeating: 0, count: d * d)
        centred.scalars.withUnsafeBufferPointer { px in
            scatter.withUnsafeMutableBufferPointer { pc in
                cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(n), 1, px.baseAddress!, Int32(d),
                            0, pc.baseAddress!, Int32(d))
            }
        }
        var covariance = [Double](repeating: 0, count: d * d)
        let invN = 1 / Double(n)
        for i in 0..<d {
            for j in i..<d {
                let c = Double(scatter[i * d + j]) * invN
                covariance[i * d + j] = c
                covariance[j * d + i] = c
            }
        }
        // P [D, K]: eigenvectors of the K largest eigenvalues as columns (only these are computed).
        let eigen = try Linalg.symmetricEigen(Tensor(uncheckedShape: [d, d], scalars: covariance), largest: k)
        let projection = eigen.vectors

        // V = X̃·P [N, K] (the PCA embedding), in Float, then kept in Double for the iterations.
        let v = try Tensor.matmul(centred, projection.converted(to: Float.self)).converted(to: Double.self)

        // Alternating minimisation of the quantisation loss Q(B, R) = ‖B − V·R‖²_F.
        var rotation = r0
        var losses: [Double] = []
        losses.reserveCapacity(iterations + 1)
        var b = Tensor<Double>(zeros: [n, k])
        for t in 0...iterations {
            // "Fix R and update B": B = sgn(V·R) minimises Q for fixed R; sign(0) = +1 as at inference.
            let z = try Tensor.matmul(v, rotation)
            var loss = 0.0
            for i in 0..<(n * k) {
                let s: Double = z.scalars[i] >= 0 ? 1 : -1
                b.scalars[i] = s
                loss += (s - z.scalars[i]) * (s - z.scalars[i])  // Q(B, R) = ‖B − V·R‖²_F
            }
            losses.append(loss)
            if t == iterations { break }
            // "Fix B and update R" (orthogonal Procrustes): SVD Bᵀ·V = S·Ω·Ŝᵀ, then R = Ŝ·Sᵀ maximises
            // tr(Bᵀ·V·R) = tr(Ω·Ŝᵀ·R·S) over orthogonal R, i.e. minimises Q for fixed B. Authors' code: [UB,sigma,UA] = svd(B'*V); R = UA*UB'.
            let bv = try Tensor.matmul(b, v, transposeA: true)  // Bᵀ·V [K, K]
            let svd = try Linalg.svd(bv)                         // S = svd.u, Ŝᵀ = svd.vt
            rotation = try Tensor.matmul(svd.vt, svd.u, transposeA: true, transposeB: true)  // R = Ŝ·Sᵀ
        }

        // Inference layer: sign((x − μ)·P·R) = sign(x·Wᵀ + b) with W = (P·R)ᵀ and b = −μ·P·R.
        let pr = try Tensor.matmul(projection, rotation)  // [D, K]
        let weight = pr.transposed().scalars.map { Double(Float($0)) }  // round once, so b matches the stored W
        let bias = BaselineSupport.centringBias(weight: weight, mean: mean, bits: k)
        let layer = BaselineSupport.linear(weight: weight, bias: bias, inFeatures: d, bits: k, name: name)
        return ITQModel(layer: layer, mean: mean, projection: projection, eigenvalues: eigen.values,
                        initialRotation: r0, rotation: rotation, quantizationLoss: losses)
    }

    /// A random K×K orthogonal matrix: the left singular vectors of a K×K matrix of N(0, 1) draws (as the
    /// authors' code: `R = randn(bit,bit); [U11 S2 V2] = svd(R); R = U11(:,1:bit)`). Draws K² normals, row-major.
    /// - Throws: `invalidArgument` unless 1 ≤ K ≤ 4096; `numerical` if the SVD fails.
    public static func randomRotation(_ k: Int, using rng: inout SeededGenerator) throws -> Tensor<Double> {
        try require((1...PackedCodes.maxBits).contains(k), "ITQ: rotation size K must be in 1...\(PackedCodes.maxBits), got \(k)")
        let gaussian = Tensor<Double>.normal([k, k], using: &rng)
        return try Linalg.svd(gaussian).u
    }

    static func validate(_ x: Tensor<Float>, bits k: Int, iterations: Int) throws {
        try BaselineSupport.validate(x, bits: k, method: "ITQ")
        try require(k <= x.cols,
                    "ITQ: K = \(k) bits exceeds the feature dimension D = \(x.cols) (PCA gives at most D directions)")
        try require(k <= x.rows, "ITQ: K = \(k) bits exceeds the number of training points N = \(x.rows)")
        try require(iterations >= 0, "ITQ: iterations must be ≥ 0, got \(iterations)")
    }
}
