import Testing
import _BihashTestSupport
import BihashCore
import BihashNN
@testable import BihashMethods

/// Tests of the non-deep baselines LSH and ITQ: determinism, the folded centring, agreement of ITQ with an
/// independent NumPy implementation (tools/reference/baselines_itq.py), the monotone quantisation loss,
/// retrieval quality on clustered data, and input validation.
@Suite struct BaselinesTests {
    // MARK: - Fixtures

    /// N points in D dimensions with per-dimension scales 1, 0.9, 0.8, … (distinct PCA variances), an offset
    /// mean, and a random rotation-free mixing so that the principal directions are not the axes.
    static func anisotropic(n: Int, d: Int, seed: UInt64) throws -> Tensor<Float> {
        var rng = SeededGenerator(seed: seed)
        let z = Tensor<Double>.normal([n, d], using: &rng)
        let mix = Tensor<Double>.normal([d, d], using: &rng)
        var x = try Tensor.matmul(z, mix)
        for i in 0..<n { for j in 0..<d { x[i, j] = x[i, j] * (1 - 0.7 * Double(j) / Double(d)) + Double(j % 3) + 2 } }
        return x.converted(to: Float.self)
    }

    /// C well-separated Gaussian clusters in a `signal`-dimensional random subspace of R^D plus isotropic noise.
    /// Returns the features and the cluster labels (labels cycle 0, 1, …, C−1).
    static func clustered(n: Int, d: Int, classes: Int, signal: Int, centreSpread: Double = 3, seed: UInt64) throws -> (Tensor<Float>, [Int]) {
        var rng = SeededGenerator(seed: seed)
        let centres = Tensor<Double>.normal([classes, signal], std: centreSpread, using: &rng)
        let basis = Tensor<Double>.normal([signal, d], using: &rng)
        var x = Tensor<Double>.normal([n, d], using: &rng)  // unit noise
        let labels = (0..<n).map { $0 % classes }
        let signalPart = try Tensor.matmul(centres.gatherRows(labels), basis)
        x = try x + signalPart
        return (x.converted(to: Float.self), labels)
    }

    /// ±1 codes sign(layer(x)), sign(0) = +1.
    static func codes(_ layer: Linear<Float>, _ x: Tensor<Float>) throws -> [Float] {
        try layer.forward(x, training: false).scalars.map { $0 >= 0 ? 1 : -1 }
    }

    /// mAP@all of Hamming ranking: queries are the first `queries` rows, the database is the rest; ties in
    /// Hamming distance are broken by database index (a stable sort).
    static func meanAveragePrecision(codes: [Float], bits k: Int, labels: [Int], queries: Int) -> Double {
        let n = labels.count
        var total = 0.0
        for q in 0..<queries {
            var distance: [(Int, Int)] = []
            for i in queries..<n {
                var h = 0
                for j in 0..<k where codes[q * k + j] != codes[i * k + j] { h += 1 }
                distance.append((h, i))
            }
            distance.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            var hits = 0, ap = 0.0
            for (rank, (_, i)) in distance.enumerated() where labels[i] == labels[q] {
                hits += 1
                ap += Double(hits) / Double(rank + 1)
            }
            total += hits > 0 ? ap / Double(hits) : 0
        }
        return total / Double(queries)
    }

    static func expectInvalidArgument(containing words: [String], _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected an invalidArgument error mentioning \(words)")
        } catch let error as BihashError {
            guard case .invalidArgument(let message) = error else { Issue.record("wrong error \(error)"); return }
            for w in words { #expect(message.contains(w), "message '\(message)' does not mention '\(w)'") }
        } catch { Issue.record("unexpected error \(error)") }
    }

    // MARK: - LSH

    @Test func lshIsDeterministicPerSeedAndDiffersAcrossSeeds() throws {
        let x = try Self.anisotropic(n: 50, d: 10, seed: 1)
        let a = try LSH.fit(features: x, bits: 24, seed: 7)
        let b = try LSH.fit(features: x, bits: 24, seed: 7)
        let c = try LSH.fit(features: x, bits: 24, seed: 8)
        #expect(a.weight.value.shape == [24, 10] && a.bias.value.shape == [24])
        #expect(a.weight.value == b.weight.value && a.bias.value == b.bias.value)
        #expect(a.weight.value != c.weight.value)
        #expect(try Self.codes(a, x) == Self.codes(b, x))
        #expect(try Self.codes(a, x) != Self.codes(c, x))
    }

    @Test func lshDrawsStandardNormalWeightsFromTheGivenGenerator() throws {
        let x = try Self.anisotropic(n: 20, d: 4, seed: 2)
        var rng = SeededGenerator(seed: 11)
        let layer = try LSH.fit(features: x, bits: 3, name: "hash", using: &rng)
        var replay = SeededGenerator(seed: 11)
        let expected = (0..<12).map { _ in Float(replay.nextNormal()) }
        #expect(layer.weight.value.scalars == expected)
        #expect(rng.next() == replay.next(), "LSH must draw exactly K·D normals")
        #expect(layer.weight.name == "hash.weight" && layer.bias.name == "hash.bias")
    }

    @Test func lshCentresByTheTrainingMean() throws {
        // Any K, also K > D. Bit k of x must be sign(wₖ·(x − μ)), computed here independently in Double.
        let x = try Self.anisotropic(n: 200, d: 3, seed: 3)
        let layer = try LSH.fit(features: x, bits: 20, seed: 1)
        let n = x.rows, d = x.cols
        let mean = (0..<d).map { j in (0..<n).reduce(0.0) { $0 + Double(x[$1, j]) } / Double(n) }
        let w = layer.weight.value
        let got = try Self.codes(layer, x)
        var agree = 0, ones = [Int](repeating: 0, count: 20)
        for i in 0..<n {
            for k in 0..<20 {
                let u = (0..<d).reduce(0.0) { $0 + Double(w[k, $1]) * (Double(x[i, $1]) - mean[$1]) }
                if (u >= 0 ? 1 : -1) == got[i * 20 + k] { agree += 1 }
                if got[i * 20 + k] > 0 { ones[k] += 1 }
            }
        }
        #expect(agree >= n * 20 - 2, "only \(agree) of \(n * 20) bits match sign(W(x − μ))")
        // Centred hyperplanes pass through the data: no bit is constant over the training set.
        #expect(ones.allSatisfy { $0 > 0 && $0 < n })
    }

    @Test func lshRejectsBadInput() throws {
        let x = try Self.anisotropic(n: 5, d: 3, seed: 4)
        Self.expectInvalidArgument(containing: ["K", "0"]) { _ = try LSH.fit(features: x, bits: 0, seed: 0) }
        Self.expectInvalidArgument(containing: ["4096", "4097"]) { _ = try LSH.fit(features: x, bits: 4097, seed: 0) }
        Self.expectInvalidArgument(containing: ["empty"]) { _ = try LSH.fit(features: Tensor<Float>(zeros: [0, 3]), bits: 8, seed: 0) }
        Self.expectInvalidArgument(containing: ["[N, D]"]) { _ = try LSH.fit(features: Tensor<Float>(zeros: [6]), bits: 8, seed: 0) }
        var bad = x
        bad[2, 1] = .nan
        #expect(throws: BihashError.numerical("LSH: feature [2, 1] is nan; features must be finite (no NaN or infinity)")) {
            try LSH.fit(features: bad, bits: 8, seed: 0)
        }
        #expect(try LSH.fit(features: x, bits: 4096, seed: 0).weight.value.shape == [4096, 3])
    }

    // MARK: - ITQ

    @Test func itqMatchesNumPyReference() throws {
        let x = try Self.anisotropic(n: 300, d: 12, seed: 5)
        let k = 6
        var rng = SeededGenerator(seed: 9)
        let r0 = try ITQ.randomRotation(k, using: &rng)
        let model = try ITQ.fitModel(features: x, bits: k, iterations: 50, initialRotation: r0)
        let ref = try PythonReference.run("baselines_itq.py", input: [
            "x": x.scalars.map(Double.init), "shape": x.shape, "bits": k, "r0": r0.scalars, "iterations": 50,
        ])
        func compare(_ name: String, _ mine: [Double], rtol: Double, atol: Double) {
            let c = allClose(mine, PythonReference.doubles(ref[name]), rtol: rtol, atol: atol)
            #expect(c.ok, "\(name) differs from NumPy by up to \(c.maxDiff)")
        }
        compare("mean", model.mean, rtol: 1e-9, atol: 1e-9)
        compare("eigenvalues", model.eigenvalues, rtol: 1e-5, atol: 0)
        compare("projection", model.projection.scalars, rtol: 0, atol: 1e-5)
        compare("loss", model.quantizationLoss, rtol: 1e-5, atol: 0)
        compare("rotation", model.rotation.scalars, rtol: 0, atol: 1e-4)
        compare("weight", model.layer.weight.value.scalars.map(Double.init), rtol: 0, atol: 1e-4)
        compare("bias", model.layer.bias.value.scalars.map(Double.init), rtol: 0, atol: 1e-3)
        let mine = try Self.codes(model.layer, x)
        let theirs = PythonReference.doubles(ref["codes"])
        let agree = zip(mine, theirs).filter { Double($0) == $1 }.count
        #expect(theirs.count == mine.count && agree >= mine.count - 3, "codes agree on \(agree) of \(mine.count) bits")
    }

    @Test func itqLossIsNonIncreasingAndRotationOrthogonal() throws {
        let (x, _) = try Self.clustered(n: 400, d: 20, classes: 5, signal: 6, seed: 6)
        var rng = SeededGenerator(seed: 3)
        let model = try ITQ.fitModel(features: x, bits: 8, using: &rng)
        #expect(model.quantizationLoss.count == ITQ.defaultIterations + 1)
        for (a, b) in zip(model.quantizationLoss, model.quantizationLoss.dropFirst()) {
            #expect(b <= a * (1 + 1e-12), "loss increased from \(a) to \(b)")
        }
        #expect(model.quantizationLoss.last! < model.quantizationLoss.first!, "ITQ did not reduce the loss at all")
        for r in [model.rotation, model.initialRotation] {
            let gram = try Tensor.matmul(r, r, transposeA: true)
            for i in 0..<8 { for j in 0..<8 { #expect(abs(gram[i, j] - (i == j ? 1 : 0)) < 1e-10) } }
        }
        let pGram = try Tensor.matmul(model.projection, model.projection, transposeA: true)
        for i in 0..<8 { for j in 0..<8 { #expect(abs(pGram[i, j] - (i == j ? 1 : 0)) < 1e-10) } }
        #expect(zip(model.eigenvalues, model.eigenvalues.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test func itqLayerEncodesTheRotatedPCAEmbedding() throws {
        // codes = sign(x·Wᵀ + b) must equal sign((x − μ)·P·R) computed from the model's parts in Double.
        let x = try Self.anisotropic(n: 120, d: 8, seed: 7)
        var rng = SeededGenerator(seed: 1)
        let model = try ITQ.fitModel(features: x, bits: 5, iterations: 10, initialRotation: ITQ.randomRotation(5, using: &rng))
        let centred = Tensor<Double>(uncheckedShape: x.shape, scalars: x.scalars.enumerated().map { Double($1) - model.mean[$0 % 8] })
        let u = try Tensor.matmul(try Tensor.matmul(centred, model.projection), model.rotation)
        let expected: [Float] = u.scalars.map { $0 >= 0 ? 1 : -1 }
        let got = try Self.codes(model.layer, x)
        #expect(zip(expected, got).filter { $0 != $1 }.count <= 1)
        #expect(model.layer.weight.value.shape == [5, 8] && model.layer.bias.value.shape == [5])
    }

    @Test func itqZeroIterationsKeepsTheInitialRotationAndSeedsAreReproducible() throws {
        let x = try Self.anisotropic(n: 60, d: 6, seed: 8)
        var rng = SeededGenerator(seed: 4)
        let r0 = try ITQ.randomRotation(4, using: &rng)
        let model = try ITQ.fitModel(features: x, bits: 4, iterations: 0, initialRotation: r0)
        #expect(model.rotation == r0 && model.quantizationLoss.count == 1)
        let a = try ITQ.fit(features: x, bits: 4, seed: 21)
        let b = try ITQ.fit(features: x, bits: 4, seed: 21)
        #expect(a.weight.value == b.weight.value && a.bias.value == b.bias.value)
        #expect(a.weight.name == "itq.weight")
    }

    @Test func itqRetrievesBetterThanLSHOnClusteredData() throws {
        // 10 clusters (centres ~ N(0, I)) in an 8-dimensional subspace of R^64 plus unit noise: PCA finds the subspace, random
        // projections mostly see noise. LSH is averaged over 5 seeds; the margin is several times the spread.
        let k = 16
        let (x, labels) = try Self.clustered(n: 1000, d: 64, classes: 10, signal: 8, centreSpread: 1, seed: 10)
        let itq = try ITQ.fit(features: x, bits: k, seed: 1)
        let itqMAP = Self.meanAveragePrecision(codes: try Self.codes(itq, x), bits: k, labels: labels, queries: 100)
        var lshMAPs: [Double] = []
        for seed in 1...5 {
            let lsh = try LSH.fit(features: x, bits: k, seed: UInt64(seed))
            lshMAPs.append(Self.meanAveragePrecision(codes: try Self.codes(lsh, x), bits: k, labels: labels, queries: 100))
        }
        let lshMean = lshMAPs.reduce(0, +) / Double(lshMAPs.count)
        #expect(itqMAP > lshMean + 0.1, "ITQ mAP \(itqMAP) vs LSH mAPs \(lshMAPs)")
        #expect(itqMAP > lshMAPs.max()!, "ITQ mAP \(itqMAP) vs LSH mAPs \(lshMAPs)")
    }

    @Test func itqRejectsBadInput() throws {
        let x = try Self.anisotropic(n: 10, d: 4, seed: 9)
        Self.expectInvalidArgument(containing: ["K = 5", "D = 4"]) { _ = try ITQ.fit(features: x, bits: 5, seed: 0) }
        Self.expectInvalidArgument(containing: ["K = 4", "N = 3"]) { _ = try ITQ.fit(features: x.rows(0..<3), bits: 4, seed: 0) }
        Self.expectInvalidArgument(containing: ["1...4096", "0"]) { _ = try ITQ.fit(features: x, bits: 0, seed: 0) }
        Self.expectInvalidArgument(containing: ["empty"]) { _ = try ITQ.fit(features: Tensor<Float>(zeros: [0, 4]), bits: 2, seed: 0) }
        Self.expectInvalidArgument(containing: ["iterations", "-1"]) { _ = try ITQ.fit(features: x, bits: 2, iterations: -1, seed: 0) }
        Self.expectInvalidArgument(containing: ["[2, 2]"]) {
            _ = try ITQ.fitModel(features: x, bits: 2, initialRotation: Tensor<Double>(zeros: [3, 3]))
        }
        Self.expectInvalidArgument(containing: ["not orthogonal"]) {
            _ = try ITQ.fitModel(features: x, bits: 2, initialRotation: try Tensor<Double>(rows: [[1, 0], [1, 1]]))
        }
        var bad = x
        bad[0, 0] = .infinity
        #expect(throws: BihashError.self) { try ITQ.fit(features: bad, bits: 2, seed: 0) }
        // Rejected input must not consume the caller's generator.
        var rng = SeededGenerator(seed: 5)
        _ = try? ITQ.fitModel(features: x, bits: 9, using: &rng)
        #expect(rng.next() == SeededGenerator(seed: 5).nextCopy())
    }

    @Test func itqHandlesConstantFeatures() throws {
        // Rank-deficient covariance (two constant columns): still a valid, finite model.
        var x = try Self.anisotropic(n: 40, d: 5, seed: 12)
        for i in 0..<40 { x[i, 1] = 3; x[i, 4] = -1 }
        var rng = SeededGenerator(seed: 2)
        let model = try ITQ.fitModel(features: x, bits: 5, iterations: 5, initialRotation: ITQ.randomRotation(5, using: &rng))
        #expect(model.layer.weight.value.isFinite && model.layer.bias.value.isFinite)
        #expect(model.eigenvalues.suffix(2).allSatisfy { abs($0) < 1e-6 })
    }
}

private extension SeededGenerator {
    /// The first value a copy of this generator would produce.
    func nextCopy() -> UInt64 { var copy = self; return copy.next() }
}
