/// Matrix products through OpenBLAS (`cblas_sgemm` / `cblas_dgemm`).
extension Tensor {
    /// op(a) · op(b) for 2-D tensors, where op transposes when the flag is set.
    /// Shapes: op(a) is [M, K'], op(b) is [K', N]; the result is [M, N].
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        let (m, ka) = transposeA ? (a.cols, a.rows) : (a.rows, a.cols)
        let (kb, n) = transposeB ? (b.cols, b.rows) : (b.rows, b.cols)
        try require(ka == kb, "matmul: inner dimensions differ (\(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : ""))")
        var c = Tensor(zeros: [m, n])
        gemm(a, b, into: &c, transposeA: transposeA, transposeB: transposeB, alpha: 1, beta: 0)
        return c
    }

    /// c ← α·op(a)·op(b) + β·c, in place; shapes must already agree (checked by the caller).
    /// Used by layers to accumulate parameter gradients (β = 1) without temporaries.
    @inlinable
    public static func gemm(_ a: Tensor, _ b: Tensor, into c: inout Tensor, transposeA: Bool = false,
                            transposeB: Bool = false, alpha: T = 1, beta: T = 0) {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let n = transposeB ? b.rows : b.cols
        if m == 0 || n == 0 { return }
        let lda = a.cols, ldb = b.cols, ldc = c.cols
        if k == 0 {  // empty inner dimension: the product is zero
            for i in c.scalars.indices { c.scalars[i] = beta == 0 ? 0 : beta * c.scalars[i] }
            return
        }
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                c.scalars.withUnsafeMutableBufferPointer { pc in
                    T.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                           a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                           beta: beta, c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
    }
}
