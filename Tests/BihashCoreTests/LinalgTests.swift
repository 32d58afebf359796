import Testing
import _BihashTestSupport
@testable import BihashCore

/// Tests of the LAPACK wrappers: algebraic identities (A·v = λ·v, A = U·Σ·Vᵀ, A·X = B, orthogonality) and
/// agreement with NumPy (tools/reference/baselines_linalg.py), which applies the same sign convention.
@Suite struct LinalgTests {
    // MARK: - Fixtures

    static func randomMatrix<T: TensorScalar>(_ m: Int, _ n: Int, seed: UInt64, as: T.Type = T.self) -> Tensor<T> {
        var rng = SeededGenerator(seed: seed)
        return Tensor<T>.normal([m, n], using: &rng)
    }

    /// A random symmetric matrix (A + Aᵀ)/2.
    static func randomSymmetric<T: TensorScalar>(_ n: Int, seed: UInt64, as: T.Type = T.self) throws -> Tensor<T> {
        let a: Tensor<T> = randomMatrix(n, n, seed: seed)
        return try (a + a.transposed()) * T(0.5)
    }

    static func maxAbs(_ t: Tensor<Double>) -> Double { t.scalars.map(abs).max() ?? 0 }

    /// max |QᵀQ − I| for a matrix with (supposedly) orthonormal columns.
    static func orthonormalityError(columnsOf q: Tensor<Double>) throws -> Double {
        let gram = try Tensor.matmul(q, q, transposeA: true)
        var worst = 0.0
        for i in 0..<gram.rows { for j in 0..<gram.cols { worst = max(worst, abs(gram[i, j] - (i == j ? 1 : 0))) } }
        return worst
    }

    static func reference(_ input: [String: Any]) throws -> [String: Any] {
        try PythonReference.run("baselines_linalg.py", input: input)
    }

    static func isLargestMagnitudePositive(_ x: [Double]) -> Bool {
        var best = 0
        for i in x.indices where abs(x[i]) > abs(x[best]) { best = i }
        return x[best] > 0
    }

    // MARK: - Symmetric eigen-decomposition

    @Test func eigenSatisfiesEigenEquationAndIsOrthonormal() throws {
        let a: Tensor<Double> = try Self.randomSymmetric(7, seed: 1)
        let e = try Linalg.symmetricEigen(a)
        #expect(e.values.count == 7 && e.vectors.shape == [7, 7])
        #expect(zip(e.values, e.values.dropFirst()).allSatisfy { $0 >= $1 }, "eigenvalues must be descending")
        // A·V = V·diag(λ)
        let av = try Tensor.matmul(a, e.vectors)
        for i in 0..<7 { for j in 0..<7 { #expect(abs(av[i, j] - e.vectors[i, j] * e.values[j]) < 1e-12) } }
        #expect(try Self.orthonormalityError(columnsOf: e.vectors) < 1e-12)
        for j in 0..<7 { #expect(Self.isLargestMagnitudePositive((0..<7).map { e.vectors[$0, j] })) }
    }

    @Test func eigenMatchesNumPy() throws {
        let a: Tensor<Double> = try Self.randomSymmetric(9, seed: 2)
        let e = try Linalg.symmetricEigen(a)
        let ref = try Self.reference(["op": "eigh", "a": a.scalars, "shape": a.shape])
        let values = allClose(e.values, PythonReference.doubles(ref["values"]), rtol: 1e-10, atol: 1e-12)
        #expect(values.ok, "eigenvalues differ by \(values.maxDiff)")
        let vectors = allClose(e.vectors.scalars, PythonReference.doubles(ref["vectors"]), rtol: 0, atol: 1e-9)
        #expect(vectors.ok, "eigenvectors differ by \(vectors.maxDiff)")
    }

    @Test func eigenFloatMatchesNumPy() throws {
        let a: Tensor<Float> = try Self.randomSymmetric(6, seed: 3)
        let e = try Linalg.symmetricEigen(a)
        let ref = try Self.reference(["op": "eigh", "a": a.scalars.map(Double.init), "shape": a.shape])
        let values = allClose(e.values.map(Double.init), PythonReference.doubles(ref["values"]), rtol: 1e-4, atol: 1e-5)
        #expect(values.ok, "eigenvalues differ by \(values.maxDiff)")
        let vectors = allClose(e.vectors.scalars.map(Double.init), PythonReference.doubles(ref["vectors"]), rtol: 0, atol: 1e-4)
        #expect(vectors.ok, "eigenvectors differ by \(vectors.maxDiff)")
    }

    @Test func eigenLargestMatchesTheFullDecomposition() throws {
        let a: Tensor<Double> = try Self.randomSymmetric(12, seed: 7)
        let full = try Linalg.symmetricEigen(a)
        let top = try Linalg.symmetricEigen(a, largest: 4)
        #expect(top.values.count == 4 && top.vectors.shape == [12, 4])
        #expect(allClose(top.values, Array(full.values.prefix(4)), rtol: 1e-12, atol: 1e-12).ok)
        let fullTop = (0..<12).flatMap { i in (0..<4).map { j in full.vectors[i, j] } }
        let c = allClose(top.vectors.scalars, fullTop, rtol: 0, atol: 1e-10)
        #expect(c.ok, "top-4 eigenvectors differ from the full decomposition's by \(c.maxDiff)")
        #expect(throws: BihashError.self) { try Linalg.symmetricEigen(a, largest: 0) }
        #expect(throws: BihashError.self) { try Linalg.symmetricEigen(a, largest: 13) }
    }

    @Test func eigenOfDiagonalAndOneByOne() throws {
        let d = try Tensor<Double>(rows: [[1, 0, 0], [0, -3, 0], [0, 0, 2]])
        let e = try Linalg.symmetricEigen(d)
        #expect(e.values == [2, 1, -3])
        // Unit vectors e₃, e₁, e₂ with a positive sign.
        #expect(e.vectors.scalars == [0, 1, 0, 0, 0, 1, 1, 0, 0])
        let one = try Linalg.symmetricEigen(Tensor<Float>(rows: [[-4]]))
        #expect(one.values == [-4] && one.vectors.scalars == [1])
    }

    @Test func eigenRejectsBadInput() throws {
        #expect(throws: BihashError.self) { try Linalg.symmetricEigen(Tensor<Double>(zeros: [2, 3])) }
        #expect(throws: BihashError.self) { try Linalg.symmetricEigen(Tensor<Double>(zeros: [0, 0])) }
        #expect(throws: BihashError.self) { try Linalg.symmetricEigen(Tensor<Double>(zeros: [4])) }
        do {
            _ = try Linalg.symmetricEigen(try Tensor<Double>(rows: [[1, 2], [3, 1]]))
            Issue.record("a non-symmetric matrix was accepted")
        } catch let error as BihashError {
            guard case .invalidArgument(let message) = error else { Issue.record("wrong error \(error)"); return }
            #expect(message.contains("not symmetric"))
        }
        do {
            _ = try Linalg.symmetricEigen(try Tensor<Double>(rows: [[1, .nan], [.nan, 1]]))
            Issue.record("NaN was accepted")
        } catch let error as BihashError {
            guard case .numerical = error else { Issue.record("wrong error \(error)"); return }
        }
    }

    // MARK: - SVD

    @Test(arguments: [(7, 4), (3, 6), (5, 5), (1, 4), (4, 1)])
    func svdReconstructsAndIsOrthonormal(shape: (Int, Int)) throws {
        let (m, n) = shape
        let a: Tensor<Double> = Self.randomMatrix(m, n, seed: UInt64(10 * m + n))
        let d = try Linalg.svd(a)
        let r = min(m, n)
        #expect(d.u.shape == [m, r] && d.s.count == r && d.vt.shape == [r, n])
        #expect(zip(d.s, d.s.dropFirst()).allSatisfy { $0 >= $1 } && d.s.allSatisfy { $0 >= 0 })
        // A = U·diag(S)·Vᵀ
        var us = d.u
        for i in 0..<m { for j in 0..<r { us[i, j] *= d.s[j] } }
        let back = try Tensor.matmul(us, d.vt)
        #expect(try back.maxAbsDifference(a) < 1e-12)
        #expect(try Self.orthonormalityError(columnsOf: d.u) < 1e-12)
        #expect(try Self.orthonormalityError(columnsOf: d.vt.transposed()) < 1e-12)
        for j in 0..<r { #expect(Self.isLargestMagnitudePositive((0..<m).map { d.u[$0, j] })) }
    }

    @Test(arguments: [(6, 4), (3, 5)])
    func svdMatchesNumPy(shape: (Int, Int)) throws {
        let (m, n) = shape
        let a: Tensor<Double> = Self.randomMatrix(m, n, seed: UInt64(100 + m * n))
        let d = try Linalg.svd(a)
        let ref = try Self.reference(["op": "svd", "a": a.scalars, "shape": a.shape])
        for (name, mine) in [("u", d.u.scalars), ("s", d.s), ("vt", d.vt.scalars)] {
            let c = allClose(mine, PythonReference.doubles(ref[name]), rtol: 0, atol: 1e-10)
            #expect(c.ok, "\(name) differs from NumPy by \(c.maxDiff)")
        }
    }

    @Test func svdFloatMatchesNumPy() throws {
        let a: Tensor<Float> = Self.randomMatrix(5, 3, seed: 4)
        let d = try Linalg.svd(a)
        let ref = try Self.reference(["op": "svd", "a": a.scalars.map(Double.init), "shape": a.shape])
        for (name, mine) in [("u", d.u.scalars), ("s", d.s), ("vt", d.vt.scalars)] {
            let c = allClose(mine.map(Double.init), PythonReference.doubles(ref[name]), rtol: 0, atol: 1e-5)
            #expect(c.ok, "\(name) differs from NumPy by \(c.maxDiff)")
        }
    }

    @Test func svdOfRankDeficientMatrix() throws {
        // Rank 1: a = x·yᵀ has one non-zero singular value |x|·|y|.
        let a = try Tensor<Double>(rows: [[1, 2, 3], [2, 4, 6], [-1, -2, -3]])
        let d = try Linalg.svd(a)
        #expect(abs(d.s[0] - (6.0).squareRoot() * (14.0).squareRoot()) < 1e-12)
        #expect(d.s[1] < 1e-12 && d.s[2] < 1e-12)
    }

    @Test func svdRejectsBadInput() {
        #expect(throws: BihashError.self) { try Linalg.svd(Tensor<Double>(zeros: [0, 3])) }
        #expect(throws: BihashError.self) { try Linalg.svd(Tensor<Float>(zeros: [3])) }
        #expect(throws: BihashError.numerical("svd: input has a non-finite value (inf) at flat index 1")) {
            try Linalg.svd(Tensor<Double>(rows: [[1, .infinity]]))
        }
    }

    // MARK: - Solve

    @Test func solveMatchesNumPyAndHasSmallResidual() throws {
        let a: Tensor<Double> = Self.randomMatrix(5, 5, seed: 5)
        let b: Tensor<Double> = Self.randomMatrix(5, 3, seed: 6)
        let x = try Linalg.solve(a, b)
        #expect(x.shape == [5, 3])
        #expect(try Tensor.matmul(a, x).maxAbsDifference(b) < 1e-12)
        let ref = try Self.reference(["op": "solve", "a": a.scalars, "shape": a.shape, "b": b.scalars, "b_shape": b.shape])
        let c = allClose(x.scalars, PythonReference.doubles(ref["x"]), rtol: 1e-9, atol: 1e-11)
        #expect(c.ok, "solution differs from NumPy by \(c.maxDiff)")
    }

    @Test func solveVectorRightHandSideInFloat() throws {
        let a = try Tensor<Float>(rows: [[4, 1, 0], [1, 3, 1], [0, 1, 2]])
        let xTrue = try Tensor<Float>(shape: [3], scalars: [1, -2, 0.5])
        let b = try Tensor.matmul(a, xTrue.reshaped([3, 1])).reshaped([3])
        let x = try Linalg.solve(a, b)
        #expect(x.shape == [3])
        #expect(try x.maxAbsDifference(xTrue) < 1e-5)
    }

    @Test func solveRejectsSingularAndMismatched() throws {
        let singular = try Tensor<Double>(rows: [[1, 2], [2, 4]])
        do {
            _ = try Linalg.solve(singular, Tensor<Double>(zeros: [2]))
            Issue.record("a singular matrix was accepted")
        } catch let error as BihashError {
            guard case .numerical(let message) = error else { Issue.record("wrong error \(error)"); return }
            #expect(message.contains("singular"))
        }
        #expect(throws: BihashError.self) { try Linalg.solve(Tensor<Double>(zeros: [2, 2]), Tensor<Double>(zeros: [3, 1])) }
        #expect(throws: BihashError.self) { try Linalg.solve(Tensor<Double>(zeros: [2, 3]), Tensor<Double>(zeros: [2])) }
    }
}
