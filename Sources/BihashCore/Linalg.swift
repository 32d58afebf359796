import CBLAS

// Thin, validated wrappers over LAPACK (OpenBLAS exports the Fortran symbols; see Sources/CBLAS/shim.h).
//
// Layout: `Tensor` is row-major, LAPACK is column-major. A row-major m×n buffer *is* the column-major n×m
// buffer of its transpose, so each wrapper either solves the transposed problem LAPACK sees (SVD), uses a
// symmetric input for which both layouts agree (eigen), or transposes explicitly (solve).
//
// Sign convention: eigenvectors and singular vectors are only defined up to sign. Every routine here returns
// them normalised so that the **largest-magnitude component of each eigenvector / left singular vector is
// positive** (first such component on ties), flipping the matching right singular vector with it. Results are
// therefore deterministic across LAPACK builds, and NumPy references can apply the same rule.

/// Element types with LAPACK routines: `Float` (s-prefixed) and `Double` (d-prefixed).
///
/// The requirements are the raw Fortran entry points (every argument by pointer, column-major matrices);
/// use the `Linalg` functions, which validate shapes and values, handle layouts and workspace queries.
public protocol LAPACKScalar: TensorScalar {
    /// `?syevr`: selected eigenvalues (ascending) and, with jobz 'V', eigenvectors of a symmetric matrix (MRRR).
    static func lapackSyevr(_ jobz: UnsafePointer<CChar>, _ range: UnsafePointer<CChar>, _ uplo: UnsafePointer<CChar>,
                            _ n: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Self>, _ lda: UnsafePointer<Int32>,
                            _ vl: UnsafePointer<Self>, _ vu: UnsafePointer<Self>, _ il: UnsafePointer<Int32>,
                            _ iu: UnsafePointer<Int32>, _ abstol: UnsafePointer<Self>, _ m: UnsafeMutablePointer<Int32>,
                            _ w: UnsafeMutablePointer<Self>, _ z: UnsafeMutablePointer<Self>, _ ldz: UnsafePointer<Int32>,
                            _ isuppz: UnsafeMutablePointer<Int32>, _ work: UnsafeMutablePointer<Self>,
                            _ lwork: UnsafePointer<Int32>, _ iwork: UnsafeMutablePointer<Int32>,
                            _ liwork: UnsafePointer<Int32>, _ info: UnsafeMutablePointer<Int32>)
    /// `?gesvd`: A = U·diag(S)·Vᵀ.
    static func lapackGesvd(_ jobu: UnsafePointer<CChar>, _ jobvt: UnsafePointer<CChar>, _ m: UnsafePointer<Int32>,
                            _ n: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Self>, _ lda: UnsafePointer<Int32>,
                            _ s: UnsafeMutablePointer<Self>, _ u: UnsafeMutablePointer<Self>, _ ldu: UnsafePointer<Int32>,
                            _ vt: UnsafeMutablePointer<Self>, _ ldvt: UnsafePointer<Int32>,
                            _ work: UnsafeMutablePointer<Self>, _ lwork: UnsafePointer<Int32>,
                            _ info: UnsafeMutablePointer<Int32>)
    /// `?gesv`: solves A·X = B by LU with partial pivoting; X overwrites B.
    static func lapackGesv(_ n: UnsafePointer<Int32>, _ nrhs: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Self>,
                           _ lda: UnsafePointer<Int32>, _ ipiv: UnsafeMutablePointer<Int32>,
                           _ b: UnsafeMutablePointer<Self>, _ ldb: UnsafePointer<Int32>,
                           _ info: UnsafeMutablePointer<Int32>)
}

extension Float: LAPACKScalar {
    public static func lapackSyevr(_ jobz: UnsafePointer<CChar>, _ range: UnsafePointer<CChar>, _ uplo: UnsafePointer<CChar>,
                                   _ n: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Float>, _ lda: UnsafePointer<Int32>,
                                   _ vl: UnsafePointer<Float>, _ vu: UnsafePointer<Float>, _ il: UnsafePointer<Int32>,
                                   _ iu: UnsafePointer<Int32>, _ abstol: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Int32>,
                                   _ w: UnsafeMutablePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ ldz: UnsafePointer<Int32>,
                                   _ isuppz: UnsafeMutablePointer<Int32>, _ work: UnsafeMutablePointer<Float>,
                                   _ lwork: UnsafePointer<Int32>, _ iwork: UnsafeMutablePointer<Int32>,
                                   _ liwork: UnsafePointer<Int32>, _ info: UnsafeMutablePointer<Int32>) {
        ssyevr_(jobz, range, uplo, n, a, lda, vl, vu, il, iu, abstol, m, w, z, ldz, isuppz, work, lwork, iwork, liwork, info)
    }
    public static func lapackGesvd(_ jobu: UnsafePointer<CChar>, _ jobvt: UnsafePointer<CChar>, _ m: UnsafePointer<Int32>,
                                   _ n: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Float>, _ lda: UnsafePointer<Int32>,
                                   _ s: UnsafeMutablePointer<Float>, _ u: UnsafeMutablePointer<Float>, _ ldu: UnsafePointer<Int32>,
                                   _ vt: UnsafeMutablePointer<Float>, _ ldvt: UnsafePointer<Int32>,
                                   _ work: UnsafeMutablePointer<Float>, _ lwork: UnsafePointer<Int32>,
                                   _ info: UnsafeMutablePointer<Int32>) {
        sgesvd_(jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, info)
    }
    public static func lapackGesv(_ n: UnsafePointer<Int32>, _ nrhs: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Float>,
                                  _ lda: UnsafePointer<Int32>, _ ipiv: UnsafeMutablePointer<Int32>,
                                  _ b: UnsafeMutablePointer<Float>, _ ldb: UnsafePointer<Int32>,
                                  _ info: UnsafeMutablePointer<Int32>) {
        sgesv_(n, nrhs, a, lda, ipiv, b, ldb, info)
    }
}

extension Double: LAPACKScalar {
    public static func lapackSyevr(_ jobz: UnsafePointer<CChar>, _ range: UnsafePointer<CChar>, _ uplo: UnsafePointer<CChar>,
                                   _ n: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Double>, _ lda: UnsafePointer<Int32>,
                                   _ vl: UnsafePointer<Double>, _ vu: UnsafePointer<Double>, _ il: UnsafePointer<Int32>,
                                   _ iu: UnsafePointer<Int32>, _ abstol: UnsafePointer<Double>, _ m: UnsafeMutablePointer<Int32>,
                                   _ w: UnsafeMutablePointer<Double>, _ z: UnsafeMutablePointer<Double>, _ ldz: UnsafePointer<Int32>,
                                   _ isuppz: UnsafeMutablePointer<Int32>, _ work: UnsafeMutablePointer<Double>,
                                   _ lwork: UnsafePointer<Int32>, _ iwork: UnsafeMutablePointer<Int32>,
                                   _ liwork: UnsafePointer<Int32>, _ info: UnsafeMutablePointer<Int32>) {
        dsyevr_(jobz, range, uplo, n, a, lda, vl, vu, il, iu, abstol, m, w, z, ldz, isuppz, work, lwork, iwork, liwork, info)
    }
    public static func lapackGesvd(_ jobu: UnsafePointer<CChar>, _ jobvt: UnsafePointer<CChar>, _ m: UnsafePointer<Int32>,
                                   _ n: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Double>, _ lda: UnsafePointer<Int32>,
                                   _ s: UnsafeMutablePointer<Double>, _ u: UnsafeMutablePointer<Double>, _ ldu: UnsafePointer<Int32>,
                                   _ vt: UnsafeMutablePointer<Double>, _ ldvt: UnsafePointer<Int32>,
                                   _ work: UnsafeMutablePointer<Double>, _ lwork: UnsafePointer<Int32>,
                                   _ info: UnsafeMutablePointer<Int32>) {
        dgesvd_(jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, info)
    }
    public static func lapackGesv(_ n: UnsafePointer<Int32>, _ nrhs: UnsafePointer<Int32>, _ a: UnsafeMutablePointer<Double>,
                                  _ lda: UnsafePointer<Int32>, _ ipiv: UnsafeMutablePointer<Int32>,
                                  _ b: UnsafeMutablePointer<Double>, _ ldb: UnsafePointer<Int32>,
                                  _ info: UnsafeMutablePointer<Int32>) {
        dgesv_(n, nrhs, a, lda, ipiv, b, ldb, info)
    }
}

/// Eigen-decomposition A = V·diag(λ)·Vᵀ of a real symmetric matrix (all of it, or its k largest eigenpairs).
public struct SymmetricEigen<T: LAPACKScalar>: Sendable {
    /// The eigenvalues λ (n, or the k largest), in **descending** order.
    public var values: [T]
    /// [n, n] (or [n, k]); column j (`vectors[i, j]` for i in 0..<n) is the unit eigenvector of `values[j]`
    /// (NumPy's `eigh` layout), sign-normalised so that its largest-magnitude component is positive.
    public var vectors: Tensor<T>
}

/// Thin singular value decomposition A = U·diag(S)·Vᵀ of an m×n matrix, r = min(m, n).
public struct SingularValueDecomposition<T: LAPACKScalar>: Sendable {
    /// [m, r]; orthonormal columns (left singular vectors), each with its largest-magnitude component positive.
    public var u: Tensor<T>
    /// The r singular values, descending, ≥ 0.
    public var s: [T]
    /// [r, n]; orthonormal rows (right singular vectors, i.e. Vᵀ), signs matched to `u`.
    public var vt: Tensor<T>
}

/// Dense linear algebra on `Tensor<Float>` / `Tensor<Double>` through LAPACK.
///
/// Every function validates its input (rank, shape, finite values, LAPACK's 32-bit size limit) and throws
/// `BihashError.invalidArgument` for a bad shape, `BihashError.numerical` for NaN/infinite input and when LAPACK
/// reports failure (`info` ≠ 0: no convergence, singular matrix), `BihashError.limitExceeded` beyond LAPACK's
/// 32-bit sizes.
public enum Linalg {
    /// The `largest` largest eigenvalues (descending) and their eigenvectors of the symmetric matrix `a`
    /// ([n, n], n ≥ 1); all n when `largest` is nil.
    ///
    /// `a` must be symmetric to within √ε·max(1, max|aᵢⱼ|) (ε of `T`); LAPACK reads one triangle only.
    /// Uses `?syevr` (MRRR), which computes only the requested eigenpairs after the O(n³) tridiagonalisation, so
    /// asking for the top K of a D×D covariance (PCA) is much cheaper than a full decomposition for K ≪ D.
    /// See `SymmetricEigen` for the layout (here [n, largest]) and the sign convention.
    /// - Throws: `invalidArgument` for a non-square, empty or non-symmetric input or `largest` outside 1...n;
    ///   `numerical` for a non-finite input or when LAPACK fails.
    public static func symmetricEigen<T: LAPACKScalar>(_ a: Tensor<T>, largest: Int? = nil) throws -> SymmetricEigen<T> {
        try require(a.rank == 2 && a.rows == a.cols && a.rows >= 1,
                    "symmetricEigen: expected a non-empty square matrix [n, n], got shape \(a.shape)")
        let n = a.rows
        let k = largest ?? n
        try require((1...n).contains(k), "symmetricEigen: largest = \(k) must be in 1...\(n) for a \(n)×\(n) matrix")
        try checkLAPACKSize(n * n, "symmetricEigen")
        try requireFinite(a, "symmetricEigen")
        let scale = a.scalars.reduce(T(1)) { Swift.max($0, Swift.abs($1)) }
        let tolerance = T.ulpOfOne.squareRoot() * scale
        for i in 0..<n {
            for j in (i + 1)..<n where Swift.abs(a[i, j] - a[j, i]) > tolerance {
                throw BihashError.invalidArgument(
                    "symmetricEigen: matrix is not symmetric: a[\(i), \(j)] = \(a[i, j]) but a[\(j), \(i)] = \(a[j, i])")
            }
        }
        // A symmetric row-major matrix has the same column-major buffer. LAPACK writes the eigenvectors Z as
        // columns of a column-major n×k matrix, i.e. row j of the buffer (row-major view) is eigenvector j.
        var matrix = a.scalars  // ?syevr destroys its input
        var w = [T](repeating: 0, count: n)
        var z = [T](repeating: 0, count: n * k)
        var isuppz = [Int32](repeating: 0, count: 2 * k)
        var n32 = Int32(n), lda = Int32(n), ldz = Int32(n), found: Int32 = 0, info: Int32 = 0
        var il = Int32(n - k + 1), iu = Int32(n)  // 1-based indices of the k largest (LAPACK sorts ascending)
        var vl = T(0), vu = T(0)  // unused with range 'I'
        var abstol = T.leastNormalMagnitude  // "safe minimum": the most accurate setting (LAPACK docs)
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workQuery = [T](repeating: 0, count: 1), iworkQuery = [Int32](repeating: 0, count: 1)
        func call(_ workBuffer: inout [T], _ iworkBuffer: inout [Int32]) {
            withFlags("V", k == n ? "A" : "I") { jobz, range in
                "L".withCString { uplo in
                    T.lapackSyevr(jobz, range, uplo, &n32, &matrix, &lda, &vl, &vu, &il, &iu, &abstol, &found,
                                  &w, &z, &ldz, &isuppz, &workBuffer, &lwork, &iworkBuffer, &liwork, &info)
                }
            }
        }
        call(&workQuery, &iworkQuery)  // workspace query (lwork = liwork = −1)
        if info != 0 { throw BihashError.numerical("symmetricEigen: ?syevr workspace query failed (info = \(info))") }
        lwork = try workspaceSize(workQuery[0], "symmetricEigen (?syevr)")
        liwork = Swift.max(1, iworkQuery[0])
        var workBuffer = [T](repeating: 0, count: Int(lwork))
        var iworkBuffer = [Int32](repeating: 0, count: Int(liwork))
        call(&workBuffer, &iworkBuffer)
        if info != 0 || found != Int32(k) {
            throw BihashError.numerical(
                "symmetricEigen: ?syevr failed (info = \(info), \(found) of \(k) eigenpairs) for a \(n)×\(n) matrix")
        }
        // LAPACK returns ascending eigenvalues; output column j ← LAPACK eigenvector k−1−j, sign-normalised.
        var vectors = Tensor<T>(zeros: [n, k])
        var values = [T](repeating: 0, count: k)
        for j in 0..<k {
            let src = (k - 1 - j) * n
            values[j] = w[k - 1 - j]
            let flip = largestMagnitudeIsNegative(z, start: src, count: n, stride: 1)
            for i in 0..<n { vectors.scalars[i * k + j] = flip ? -z[src + i] : z[src + i] }
        }
        return SymmetricEigen(values: values, vectors: vectors)
    }

    /// Thin SVD of `a` ([m, n], m, n ≥ 1): U [m, r], S [r] descending, Vᵀ [r, n] with r = min(m, n).
    ///
    /// Uses `?gesvd`. See `SingularValueDecomposition` for the sign convention.
    /// - Throws: `invalidArgument` for a non-2-D or empty input; `numerical` for a non-finite input or when the
    ///   bidiagonal QR iteration does not converge.
    public static func svd<T: LAPACKScalar>(_ a: Tensor<T>) throws -> SingularValueDecomposition<T> {
        try require(a.rank == 2 && a.rows >= 1 && a.cols >= 1,
                    "svd: expected a non-empty matrix [m, n], got shape \(a.shape)")
        let m = a.rows, n = a.cols, r = Swift.min(m, n)
        try checkLAPACKSize(m * n, "svd")
        try requireFinite(a, "svd")
        // LAPACK sees the column-major n×m matrix Aᵀ = U'·S·V'ᵀ, hence A = V'·S·U'ᵀ: U_A = V', V_Aᵀ = U'ᵀ.
        // Column-major V'ᵀ (r×m, ldvt = r) read row-major is V' [m, r] = U_A, and column-major U' (n×r, ldu = n)
        // read row-major is U'ᵀ [r, n] = V_Aᵀ; so no transposes are needed.
        var work = a.scalars  // ?gesvd destroys its input
        var s = [T](repeating: 0, count: r)
        var uPrime = [T](repeating: 0, count: n * r)   // becomes Vᵀ of A
        var vtPrime = [T](repeating: 0, count: r * m)  // becomes U of A
        var m32 = Int32(n), n32 = Int32(m), lda = Int32(n), ldu = Int32(n), ldvt = Int32(r), info: Int32 = 0
        try withFlags("S", "S") { jobu, jobvt in
            try work.withUnsafeMutableBufferPointer { pa in
                try s.withUnsafeMutableBufferPointer { ps in
                    try uPrime.withUnsafeMutableBufferPointer { pu in
                        try vtPrime.withUnsafeMutableBufferPointer { pvt in
                            try withWorkspace("svd (?gesvd)") { w, lwork in
                                T.lapackGesvd(jobu, jobvt, &m32, &n32, pa.baseAddress!, &lda, ps.baseAddress!,
                                              pu.baseAddress!, &ldu, pvt.baseAddress!, &ldvt, w, lwork, &info)
                                return info
                            }
                        }
                    }
                }
            }
        }
        if info != 0 {
            throw BihashError.numerical("svd: ?gesvd did not converge (info = \(info)) for a \(m)×\(n) matrix")
        }
        var u = Tensor<T>(uncheckedShape: [m, r], scalars: vtPrime)
        var vt = Tensor<T>(uncheckedShape: [r, n], scalars: uPrime)
        // Sign convention: flip column j of U and row j of Vᵀ together (A is unchanged).
        for j in 0..<r where largestMagnitudeIsNegative(u.scalars, start: j, count: m, stride: r) {
            for i in 0..<m { u.scalars[i * r + j] = -u.scalars[i * r + j] }
            for c in 0..<n { vt.scalars[j * n + c] = -vt.scalars[j * n + c] }
        }
        return SingularValueDecomposition(u: u, s: s, vt: vt)
    }

    /// Solves A·X = B for a square, non-singular A ([n, n]); `b` is [n] (one right-hand side) or [n, m].
    /// Returns X with the shape of `b`. Uses `?gesv` (LU with partial pivoting).
    /// - Throws: `invalidArgument` for mismatched shapes; `numerical` for non-finite values or when A is exactly
    ///   singular (a zero pivot).
    public static func solve<T: LAPACKScalar>(_ a: Tensor<T>, _ b: Tensor<T>) throws -> Tensor<T> {
        try require(a.rank == 2 && a.rows == a.cols && a.rows >= 1,
                    "solve: A must be a non-empty square matrix [n, n], got shape \(a.shape)")
        let n = a.rows
        try require((b.rank == 1 || b.rank == 2) && b.shape[0] == n,
                    "solve: B must be [\(n)] or [\(n), m] to match A \(a.shape), got shape \(b.shape)")
        let m = b.rank == 1 ? 1 : b.cols
        try checkLAPACKSize(n * n, "solve")
        try checkLAPACKSize(n * m, "solve")
        try requireFinite(a, "solve (A)")
        try requireFinite(b, "solve (B)")
        if m == 0 { return b }
        // Column-major copies: Aᶜ = (row-major A)ᵀ buffer, Bᶜ likewise; X comes back column-major.
        var ac = a.transposed().scalars
        var bc = b.rank == 1 ? b.scalars : b.transposed().scalars
        var ipiv = [Int32](repeating: 0, count: n)
        var n32 = Int32(n), lda = Int32(n), ldb = Int32(n), nrhs = Int32(m), info: Int32 = 0
        ac.withUnsafeMutableBufferPointer { pa in
            bc.withUnsafeMutableBufferPointer { pb in
                ipiv.withUnsafeMutableBufferPointer { pp in
                    T.lapackGesv(&n32, &nrhs, pa.baseAddress!, &lda, pp.baseAddress!, pb.baseAddress!, &ldb, &info)
                }
            }
        }
        if info > 0 {
            throw BihashError.numerical("solve: matrix A (\(n)×\(n)) is singular (U[\(info), \(info)] = 0 in its LU factorisation)")
        }
        if info < 0 { throw BihashError.numerical("solve: ?gesv rejected argument \(-info)") }
        if b.rank == 1 { return Tensor(uncheckedShape: [n], scalars: bc) }
        return Tensor(uncheckedShape: [m, n], scalars: bc).transposed()
    }

    // MARK: - Helpers

    /// LAPACK (LP64) indexes with 32-bit ints.
    static func checkLAPACKSize(_ elements: Int, _ what: String) throws {
        if elements > Int(Int32.max) {
            throw BihashError.limitExceeded("\(what): \(elements) elements exceed LAPACK's 32-bit limit")
        }
    }

    static func requireFinite<T: TensorScalar>(_ a: Tensor<T>, _ what: String) throws {
        if let i = a.scalars.firstIndex(where: { !$0.isFinite }) {
            throw BihashError.numerical("\(what): input has a non-finite value (\(a.scalars[i])) at flat index \(i)")
        }
    }

    /// True when the first largest-|x| element of x[start + k·stride], k < count, is negative.
    static func largestMagnitudeIsNegative<T: TensorScalar>(_ x: [T], start: Int, count: Int, stride: Int) -> Bool {
        var best = start
        for k in 1..<Swift.max(count, 1) where Swift.abs(x[start + k * stride]) > Swift.abs(x[best]) {
            best = start + k * stride
        }
        return x[best] < 0
    }

    /// Passes two one-character C strings (LAPACK job flags) to `body`.
    static func withFlags<R>(_ f1: String, _ f2: String,
                             _ body: (UnsafePointer<CChar>, UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try f1.withCString { p1 in try f2.withCString { p2 in try body(p1, p2) } }
    }

    /// The workspace size LAPACK reported as a floating-point number, rounded up (a Float cannot hold every
    /// large integer exactly) and checked against the 32-bit limit.
    static func workspaceSize<T: LAPACKScalar>(_ reported: T, _ what: String) throws -> Int32 {
        let optimal = (reported.doubleValue * (1 + 1e-6)).rounded(.up)
        if optimal > Double(Int32.max) {
            throw BihashError.limitExceeded("\(what): workspace of \(optimal) elements exceeds LAPACK's 32-bit limit")
        }
        return Int32(Swift.max(1, optimal))
    }

    /// Runs `call` once as a workspace query (lwork = −1), then with the workspace LAPACK asked for.
    /// `call` returns LAPACK's `info`; a failed query throws `numerical`.
    static func withWorkspace<T: LAPACKScalar>(
        _ what: String, _ call: (UnsafeMutablePointer<T>, UnsafePointer<Int32>) throws -> Int32
    ) throws {
        var query = [T](repeating: 0, count: 1)
        var lwork: Int32 = -1
        let info = try query.withUnsafeMutableBufferPointer { q in try call(q.baseAddress!, &lwork) }
        if info != 0 { throw BihashError.numerical("\(what): workspace query failed (info = \(info))") }
        lwork = try workspaceSize(query[0], what)
        var work = [T](repeating: 0, count: Int(lwork))
        _ = try work.withUnsafeMutableBufferPointer { w in try call(w.baseAddress!, &lwork) }
    }
}
