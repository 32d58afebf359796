import BihashCore
import BihashNN
import Testing
import _BihashTestSupport
@testable import BihashMethods

/// Bi-half, sign and the regularisers against the NumPy reference (tools/reference/methods_binarizers.py)
/// and against central finite differences in Double.
@Suite struct BinarizerTests {
    func randomMatrix(_ n: Int, _ k: Int, seed: UInt64) -> Tensor<Double> {
        var rng = SeededGenerator(seed: seed)
        return Tensor<Double>.normal([n, k], using: &rng)
    }

    func nested(_ t: Tensor<Double>) -> [[Double]] {
        (0..<t.rows).map { Array(t.row($0)) }
    }

    func flat(_ any: Any?) -> [Double] {
        ((any as? [Any]) ?? []).flatMap { PythonReference.doubles($0) }
    }

    @Test(arguments: [(8, 5), (7, 3), (2, 1), (33, 16)])
    func biHalfMatchesNumPy(n: Int, k: Int) throws {
        var u = randomMatrix(n, k, seed: UInt64(n * 100 + k))
        // Plant ties: duplicate a row and a zero column entry, so the stable tie rule is exercised.
        if n >= 3 { for j in 0..<k { u[2, j] = u[0, j] } ; u[1, 0] = u[0, 0] }
        let g = randomMatrix(n, k, seed: 99)
        let layer = BiHalf<Double>(gamma: 6)
        let b = try layer.forward(u, training: true)
        let du = try layer.backward(g)
        let ref = try PythonReference.run("methods_binarizers.py", input: ["op": "bihalf", "u": nested(u), "g": nested(g), "gamma": 6.0])
        #expect(b.scalars == flat(ref["b"]))
        let close = allClose(du.scalars, flat(ref["du"]), rtol: 1e-12, atol: 1e-14)
        #expect(close.ok, "max diff \(close.maxDiff)")
        // Every bit splits the batch ⌊N/2⌋ (+1) / ⌈N/2⌉ (−1).
        for j in 0..<k {
            let plus = (0..<n).filter { b[$0, j] == 1 }.count
            #expect(plus == n / 2)
        }
    }

    @Test func biHalfTiesGoToLowerIndex() throws {
        // All values equal: rows 0..<⌊N/2⌋ get +1.
        let u = Tensor<Double>(zeros: [5, 2], value: 0.5)
        let b = try BiHalf<Double>().forward(u, training: true)
        #expect(b.scalars == [1, 1, 1, 1, -1, -1, -1, -1, -1, -1])
    }

    @Test func biHalfEvalIsSignWithZeroPositive() throws {
        let u = try Tensor<Double>(rows: [[0, -1, 2], [-0.0, 3, -2]])
        let b = try BiHalf<Double>().forward(u, training: false)
        #expect(b.scalars == [1, -1, 1, 1, 1, -1])
    }

    @Test func biHalfRejectsTinyBatchAndBackwardWithoutForward() throws {
        #expect(throws: BihashError.self) { try BiHalf<Double>().forward(Tensor(zeros: [1, 4]), training: true) }
        #expect(throws: BihashError.self) { try BiHalf<Double>().backward(Tensor(zeros: [2, 4])) }
    }

    /// The backward is the gradient of the surrogate S(U) = Σ g⊙U + γ/(2NK)·‖U − B‖² with B frozen (§1.2);
    /// check it by central differences in Double.
    @Test(arguments: [("bihalf", 6.0), ("sign", 0.2)])
    func backwardIsGradientOfFrozenCodeSurrogate(kind: String, gamma: Double) throws {
        let (n, k) = (6, 4)
        let u = randomMatrix(n, k, seed: 7), g = randomMatrix(n, k, seed: 8)
        let layer: any Layer<Double> = kind == "bihalf" ? BiHalf<Double>(gamma: gamma) : SignSTE<Double>(gamma: gamma)
        let b = try layer.forward(u, training: true)
        let du = try layer.backward(g)
        func surrogate(_ x: Tensor<Double>) -> Double {
            var s = 0.0
            for i in 0..<x.count {
                s += g.scalars[i] * x.scalars[i]
                let d = x.scalars[i] - b.scalars[i]
                s += gamma / Double(2 * n * k) * d * d
            }
            return s
        }
        let eps = 1e-6
        for i in 0..<u.count {
            var up = u, dn = u
            up.scalars[i] += eps; dn.scalars[i] -= eps
            let fd = (surrogate(up) - surrogate(dn)) / (2 * eps)
            #expect(abs(fd - du.scalars[i]) <= 1e-5 + 1e-3 * abs(fd))
        }
    }

    @Test func signMatchesNumPy() throws {
        var u = randomMatrix(9, 5, seed: 3)
        u[0, 0] = 0
        let g = randomMatrix(9, 5, seed: 4)
        let layer = SignSTE<Double>(gamma: 0.2)
        let b = try layer.forward(u, training: true)
        let du = try layer.backward(g)
        let ref = try PythonReference.run("methods_binarizers.py", input: ["op": "sign", "u": nested(u), "g": nested(g), "gamma": 0.2])
        #expect(b.scalars == flat(ref["b"]))
        #expect(allClose(du.scalars, flat(ref["du"]), rtol: 1e-12, atol: 1e-14).ok)
    }

    @Test func bitBalanceRegularizerMatchesNumPyAndFiniteDifferences() throws {
        let u = randomMatrix(10, 6, seed: 5)
        let b = signWithZeroPositive(u)
        let ref = try PythonReference.run("methods_binarizers.py", input: ["op": "signreg", "u": nested(u)])
        #expect(abs(BitBalanceRegularizer.value(b) - (ref["value"] as! Double)) < 1e-12)
        let grad = BitBalanceRegularizer.gradient(b)
        #expect(allClose(grad.scalars, flat(ref["du"]), rtol: 1e-12, atol: 1e-15).ok)
        // L_reg is smooth in B: finite differences on a real-valued B.
        let x = randomMatrix(10, 6, seed: 6)
        let gx = BitBalanceRegularizer.gradient(x)
        for i in 0..<x.count {
            var up = x, dn = x
            up.scalars[i] += 1e-6; dn.scalars[i] -= 1e-6
            let fd = (BitBalanceRegularizer.value(up) - BitBalanceRegularizer.value(dn)) / 2e-6
            #expect(abs(fd - gx.scalars[i]) <= 1e-5 + 1e-3 * abs(fd))
        }
    }

    @Test func cubicPenaltyMatchesNumPyAndFiniteDifferences() throws {
        let h = randomMatrix(8, 5, seed: 11)
        let ref = try PythonReference.run("methods_binarizers.py", input: ["op": "greedy_penalty", "u": nested(h)])
        #expect(abs(CubicQuantizationPenalty.value(h) - (ref["value"] as! Double)) < 1e-12)
        let grad = CubicQuantizationPenalty.gradient(h)
        #expect(allClose(grad.scalars, flat(ref["du"]), rtol: 1e-10, atol: 1e-14).ok)
        for i in 0..<h.count {
            var up = h, dn = h
            up.scalars[i] += 1e-6; dn.scalars[i] -= 1e-6
            let fd = (CubicQuantizationPenalty.value(up) - CubicQuantizationPenalty.value(dn)) / 2e-6
            #expect(abs(fd - grad.scalars[i]) <= 1e-5 + 1e-3 * abs(fd))
        }
    }
}
