import Foundation
import Testing
import _BihashTestSupport
import BihashCore
@testable import BihashMethods

/// Tests of SHC stage 2 (ALGORITHMS.md §3.2, §3.3): the required distance d against the spec table and an exact
/// integer reference (tools/reference/shc_margin.py), the minimum-distance guarantee and determinism of `initial`
/// and `generate` over seeds and sizes, the decrease of the semantic objective, and input validation.
@Suite struct SHCCentersTests {
    /// A block-structured class similarity shaped like §3.1: classes in groups of `group`, raw affinity high within a
    /// group and low across (random, asymmetric), symmetrised, zero diagonal, then each row centred by its mean and
    /// scaled by its largest deviation (so not symmetric), diagonal 1.
    static func blockSimilarity(classes c: Int, group: Int, seed: UInt64) -> Tensor<Double> {
        var rng = SeededGenerator(seed: seed)
        var raw = Tensor<Double>(zeros: [c, c])
        for i in 0..<c { for j in 0..<c where j != i {
            raw[i, j] = (i / group == j / group ? 1.0 : 0.1) * (0.5 + rng.nextUniform())
        } }
        var s = Tensor<Double>(zeros: [c, c])
        for i in 0..<c {
            let row = (0..<c).map { (raw[i, $0] + raw[$0, i]) / 2 }
            let mean = row.reduce(0, +) / Double(c)
            let scale = max(abs(row.max()! - mean), abs(row.min()! - mean))
            for j in 0..<c { s[i, j] = scale > 0 ? (row[j] - mean) / scale : 0 }
            s[i, i] = 1
        }
        return s
    }

    static func isPlusMinusOne(_ t: Tensor<Float>) -> Bool { t.scalars.allSatisfy { $0 == 1 || $0 == -1 } }

    // MARK: - Required distance

    @Test func requiredDistanceMatchesSpecTable() throws {
        let table: [(Int, Int, Int)] = [(16, 10, 6), (16, 100, 4), (32, 10, 13), (32, 100, 10),
                                        (48, 100, 17), (64, 10, 28), (64, 80, 24), (64, 100, 24)]
        for (k, c, d) in table {
            #expect(try HashCenters.requiredDistance(bits: k, classes: c) == d, "d(\(k), \(c))")
        }
    }

    @Test func requiredDistanceMatchesExactPythonReference() throws {
        var pairs: [[Int]] = []
        for k in [1, 2, 3, 5, 7, 8, 12, 16, 24, 31, 32, 48, 63, 64, 96, 128, 200, 256, 512, 1000, 4096] {
            for c in [2, 3, 4, 8, 10, 17, 64, 100, 1000, 1 << 20] { pairs.append([k, c]) }
        }
        let answer = try PythonReference.run("shc_margin.py", input: ["op": "margin", "pairs": pairs])
        let expected = PythonReference.doubles(answer["d"]).map { Int($0) }
        #expect(expected.count == pairs.count)
        for (p, d) in zip(pairs, expected) {
            #expect(try HashCenters.requiredDistance(bits: p[0], classes: p[1]) == d, "d(\(p[0]), \(p[1]))")
        }
    }

    // MARK: - Minimum-distance guarantee and determinism

    @Test(arguments: [16, 32, 48, 64])
    func initialAndGenerateKeepMinimumDistance(bits k: Int) throws {
        let classCounts = k >= 32 ? [2, 10, 20, 50] : [2, 10, 20]
        for c in classCounts {
            let d = try HashCenters.requiredDistance(bits: k, classes: c)
            for seed: UInt64 in [1, 7] {
                let h0 = try HashCenters.initial(bits: k, classes: c, seed: seed)
                #expect(h0.shape == [c, k])
                #expect(Self.isPlusMinusOne(h0))
                #expect(HashCenters.minimumDistance(of: h0) >= d, "initial K=\(k) C=\(c) seed=\(seed)")
                #expect(try HashCenters.initial(bits: k, classes: c, seed: seed) == h0, "initial is deterministic")

                let s = Self.blockSimilarity(classes: c, group: max(1, min(5, c / 2)), seed: seed)
                let set = try HashCenters.generate(similarity: s, bits: k, seed: seed)
                #expect(set.centers.shape == [c, k])
                #expect(Self.isPlusMinusOne(set.centers))
                #expect(set.requiredDistance == d)
                #expect(set.minimumDistance == HashCenters.minimumDistance(of: set.centers))
                #expect(set.minimumDistance >= d, "generate K=\(k) C=\(c) seed=\(seed)")
                let again = try HashCenters.generate(similarity: s, bits: k, seed: seed)
                #expect(again.centers == set.centers && again.objective == set.objective, "generate is deterministic")
            }
        }
    }

    @Test func manyClassesBeyondHadamardRowsAndNonPowerOfTwo() throws {
        // C > 2K (random balanced rows + ADMM) and K not a power of two (random start + ADMM).
        for (k, c) in [(16, 40), (24, 30), (48, 100)] {
            let d = try HashCenters.requiredDistance(bits: k, classes: c)
            let h = try HashCenters.initial(bits: k, classes: c, seed: 3)
            #expect(Self.isPlusMinusOne(h))
            #expect(HashCenters.minimumDistance(of: h) >= d, "K=\(k) C=\(c)")
        }
    }

    // MARK: - Semantic objective

    @Test func semanticObjectiveDecreasesAndMatchesNumPy() throws {
        for (k, c) in [(32, 20), (16, 40), (48, 30)] {
            let s = Self.blockSimilarity(classes: c, group: 5, seed: 11)
            let set = try HashCenters.generate(similarity: s, bits: k, seed: 5)
            #expect(set.objective.count == 31)
            let first = try #require(set.objective.first), last = try #require(set.objective.last)
            #expect(last < first, "objective \(first) → \(last)")
            #expect(set.objective[set.selectedIndex] == set.objective.min())
            // The objective of the returned H, re-computed independently.
            let rowsS = (0..<c).map { i in (0..<c).map { s[i, $0] } }
            let rowsH = (0..<c).map { i in (0..<k).map { Double(set.centers[i, $0]) } }
            let ref = try PythonReference.run("shc_margin.py", input: ["op": "objective", "s": rowsS, "h": rowsH])
            let obj = try #require((ref["objective"] as? NSNumber)?.doubleValue)
            #expect(abs(obj - set.objective[set.selectedIndex]) <= 1e-12 * max(1, obj))
            #expect((ref["min_distance"] as? NSNumber)?.intValue == set.minimumDistance)
            // Also the initial objective against NumPy.
            let h0 = try HashCenters.initial(bits: k, classes: c, seed: 5)
            let rows0 = (0..<c).map { i in (0..<k).map { Double(h0[i, $0]) } }
            let ref0 = try PythonReference.run("shc_margin.py", input: ["op": "objective", "s": rowsS, "h": rows0])
            let obj0 = try #require((ref0["objective"] as? NSNumber)?.doubleValue)
            #expect(abs(obj0 - first) <= 1e-12 * max(1, obj0))
        }
    }

    // MARK: - Validation

    @Test func invalidInputsThrowClearErrors() throws {
        #expect(throws: BihashError.self) { try HashCenters.requiredDistance(bits: 0, classes: 10) }
        #expect(throws: BihashError.self) { try HashCenters.requiredDistance(bits: 4097, classes: 10) }
        #expect(throws: BihashError.self) { try HashCenters.requiredDistance(bits: 16, classes: 1) }
        #expect(throws: BihashError.self) { try HashCenters.initial(bits: 16, classes: 1, seed: 0) }
        let nonSquare = Tensor<Double>(zeros: [3, 4])
        #expect(throws: BihashError.self) { try HashCenters.generate(similarity: nonSquare, bits: 16, seed: 0) }
        var nan = Self.blockSimilarity(classes: 4, group: 2, seed: 0)
        nan[1, 2] = .nan
        #expect(throws: BihashError.self) { try HashCenters.generate(similarity: nan, bits: 16, seed: 0) }
        #expect(throws: BihashError.self) { try HashCenters.generate(similarity: Tensor(zeros: [1, 1]), bits: 16, seed: 0) }
        // K = 1 cannot hold 3 distinct centres: no set reaches d, so `numerical`.
        do {
            _ = try HashCenters.initial(bits: 1, classes: 3, seed: 0)
            Issue.record("expected an error")
        } catch let error as BihashError {
            guard case .numerical = error else { Issue.record("expected numerical, got \(error)"); return }
        }
    }
}

