import BihashCore
import BihashNN
import Foundation
import Testing
import _BihashTestSupport
@testable import BihashMethods

/// SDC's Beta quantiles, loss and quantisation term against SciPy/NumPy (tools/reference/sdc_reference.py),
/// the spec's reference values, and finite differences.
@Suite struct SDCTests {
    @Test func betaTargetsMatchTheSpecValues() throws {
        // ALGORITHMS.md §2.7: Beta(5,5), P = 32.
        let c = try BetaDistribution(a: 5, b: 5).calibrationTargets(pairs: 32)
        let expected = [-0.62073, -0.50535, -0.43625, -0.38329]
        for i in 0..<4 {
            #expect(abs(c[i] - expected[i]) < 1e-5, "c_\(i + 1) = \(c[i])")
            #expect(abs(c[31 - i] + expected[i]) < 1e-5, "c_\(32 - i) = \(c[31 - i])")
        }
    }

    @Test(arguments: [(5.0, 5.0), (0.2, 0.2), (0.5, 2.0), (1.0, 1.0), (2.0, 7.5), (10.0, 3.0), (30.0, 30.0)])
    func betaQuantilesMatchSciPy(a: Double, b: Double) throws {
        let ps = [1e-6, 0.001, 0.01, 0.05, 0.2, 0.37, 0.5, 0.63, 0.8, 0.95, 0.99, 0.999, 1 - 1e-6]
        let ref = try PythonReference.run("sdc_reference.py", input: ["op": "beta_ppf", "a": a, "b": b, "p": ps])
        let x = PythonReference.doubles(ref["x"])
        let dist = try BetaDistribution(a: a, b: b)
        for (i, p) in ps.enumerated() {
            let q = try dist.quantile(p)
            // Relative accuracy in the tail that is nearer: x for p ≤ ½, 1 − x for p > ½.
            if p <= 0.5 {
                #expect(abs(q - x[i]) <= 1e-7 * x[i] + 1e-300, "Beta(\(a),\(b)).ppf(\(p)) = \(q), scipy \(x[i])")
            } else {
                #expect(abs((1 - q) - (1 - x[i])) <= 1e-7 * (1 - x[i]) + 1e-15, "Beta(\(a),\(b)).ppf(\(p)) = \(q), scipy \(x[i])")
            }
            // x near 1 is only representable to 1e-16, so the CDF residual is checked away from the extreme tails.
            if p >= 0.01 && p <= 0.99 { #expect(abs(dist.cdf(q) - p) < 1e-9) }
        }
        #expect(throws: BihashError.self) { _ = try dist.quantile(1.5) }
        #expect(throws: BihashError.self) { _ = try BetaDistribution(a: 0, b: 1) }
    }

    func fixture(_ n: Int, _ k: Int, seed: UInt64) -> (Tensor<Float>, Tensor<Float>) {
        var rng = SeededGenerator(seed: seed)
        let v = Tensor<Float>.normal([n, k], using: &rng)
        let t = Tensor<Float>.uniform([n / 2], low: -1, high: 1, using: &rng)
        return (v, t)
    }

    func nested(_ x: Tensor<Float>) -> [[Double]] { (0..<x.rows).map { x.row($0).map(Double.init) } }

    @Test(arguments: [(16, 8, false), (15, 6, false), (12, 10, true)])
    func sdcLossMatchesNumPy(n: Int, k: Int, ortho: Bool) throws {
        let (v, t) = fixture(n, k, seed: UInt64(n + k))
        let loss = try SDCLoss(alpha: 5, beta: 5, orthoConstraint: ortho)
        let value = try loss.forward(codes: v, featureSimilarity: t)
        let grad = try loss.backward()
        let ref = try PythonReference.run("sdc_reference.py", input: [
            "op": "sdc", "v": nested(v), "t": t.scalars.map(Double.init), "a": 5.0, "b": 5.0, "ortho": ortho])
        #expect(abs(Double(value) - (ref["loss"] as! Double)) < 1e-5)
        let refGrad = ((ref["grad"] as? [Any]) ?? []).flatMap { PythonReference.doubles($0) }
        let close = allClose(grad.scalars.map(Double.init), refGrad, rtol: 1e-4, atol: 1e-6)
        #expect(close.ok, "max diff \(close.maxDiff)")
    }

    /// Central differences of L_sdc in v, away from the |·| kinks (checked: every residual is far from 0).
    @Test func sdcGradientMatchesFiniteDifferences() throws {
        let (v, t) = fixture(10, 5, seed: 3)
        let loss = try SDCLoss()
        _ = try loss.forward(codes: v, featureSimilarity: t)
        let grad = try loss.backward()
        let eps: Float = 1e-3
        for i in 0..<v.count {
            var up = v, dn = v
            up.scalars[i] += eps; dn.scalars[i] -= eps
            let fd = (try loss.forward(codes: up, featureSimilarity: t) - (try loss.forward(codes: dn, featureSimilarity: t))) / (2 * eps)
            #expect(abs(fd - grad.scalars[i]) <= 2e-3 + 2e-2 * abs(fd), "element \(i): fd \(fd), analytic \(grad.scalars[i])")
        }
    }

    @Test func quantizationTermMatchesNumPyAndFiniteDifferences() throws {
        var (v, _) = fixture(7, 6, seed: 9)
        v[0, 0] = 0  // sign(0) = +1
        let q = CosineQuantizationLoss()
        let value = try q.forward(v)
        let grad = try q.backward()
        let ref = try PythonReference.run("sdc_reference.py", input: ["op": "quant", "v": nested(v)])
        #expect(abs(Double(value) - (ref["loss"] as! Double)) < 1e-6)
        let refGrad = ((ref["grad"] as? [Any]) ?? []).flatMap { PythonReference.doubles($0) }
        #expect(allClose(grad.scalars.map(Double.init), refGrad, rtol: 1e-4, atol: 1e-6).ok)
        // Finite differences on entries not near 0 (the sign is held constant there).
        let eps: Float = 1e-3
        for i in 0..<v.count where abs(v.scalars[i]) > 0.01 {
            var up = v, dn = v
            up.scalars[i] += eps; dn.scalars[i] -= eps
            let fd = (try q.forward(up) - (try q.forward(dn))) / (2 * eps)
            #expect(abs(fd - grad.scalars[i]) <= 1e-3 + 1e-2 * abs(fd))
        }
    }

    @Test func sdcLossOrdersByFeatureSimilarityNotCodeSimilarity() throws {
        // Two pairs: the pair with the lower feature similarity must be pushed to the lower target.
        let v = try Tensor<Float>(rows: [[1, 0], [1, 0], [1, 0.1], [-1, 0]])  // s_0 = cos(v0, v2) > 0, s_1 = cos(v1, v3) = −1
        let loss = try SDCLoss()
        let c = try loss.targets(pairs: 2)
        let t = try Tensor<Float>(shape: [2], scalars: [-0.5, 0.5])  // pair 0 has the lower feature similarity
        let value = try loss.forward(codes: v, featureSimilarity: t)
        let s0: Float = 1 / (1.01 as Float).squareRoot(), s1: Float = -1
        #expect(abs(value - (abs(s0 - c[0]) + abs(s1 - c[1])) / 2) < 1e-6)
    }
}

/// SDC's contrastive variant: NT-Xent against NumPy and finite differences, augmentations, a training run.
@Suite struct SDCContrastiveTests {
    @Test func ntXentMatchesNumPyAndFiniteDifferences() throws {
        var rng = SeededGenerator(seed: 21)
        let v1 = Tensor<Float>.normal([5, 4], using: &rng), v2 = Tensor<Float>.normal([5, 4], using: &rng)
        let loss = try NTXentLoss(temperature: 0.3)
        let value = try loss.forward(v1, v2)
        let (g1, g2) = try loss.backward()
        func nested(_ x: Tensor<Float>) -> [[Double]] { (0..<x.rows).map { x.row($0).map(Double.init) } }
        let ref = try PythonReference.run("sdc_reference.py", input: ["op": "ntxent", "v1": nested(v1), "v2": nested(v2), "tau": 0.3])
        #expect(abs(Double(value) - (ref["loss"] as! Double)) < 1e-5)
        let refGrad = ((ref["grad"] as? [Any]) ?? []).flatMap { PythonReference.doubles($0) }
        #expect(allClose((g1.scalars + g2.scalars).map(Double.init), refGrad, rtol: 1e-3, atol: 1e-5).ok)
        let eps: Float = 1e-2
        for i in 0..<v1.count {
            var up = v1, dn = v1
            up.scalars[i] += eps; dn.scalars[i] -= eps
            let fd = (try loss.forward(up, v2) - (try loss.forward(dn, v2))) / (2 * eps)
            #expect(abs(fd - g1.scalars[i]) <= 2e-3 + 2e-2 * abs(fd), "element \(i): fd \(fd) vs \(g1.scalars[i])")
        }
    }

    @Test func augmentationIsSeededAndStaysInRange() throws {
        var rng = SeededGenerator(seed: 2)
        let x = Tensor<Float>.uniform([6, 8 * 8], low: 0, high: 1, using: &rng)
        let aug = try ImageAugmentation(width: 8, height: 8, channels: 1)
        var a = SeededGenerator(seed: 5), b = SeededGenerator(seed: 5)
        let first = aug.apply(x, using: &a)
        #expect(first == aug.apply(x, using: &b))
        #expect(first.shape == x.shape)
        #expect(first.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(first != x)
        // A constant image stays constant under crops, flips and brightness/contrast about its mean.
        let flat = Tensor<Float>(zeros: [1, 64], value: 0.5)
        var c = SeededGenerator(seed: 9)
        let out = aug.apply(flat, using: &c)
        #expect(out.scalars.allSatisfy { abs($0 - out.scalars[0]) < 1e-6 })
        #expect(throws: BihashError.self) { _ = try ImageAugmentation(width: 1, height: 8, channels: 1) }
    }

    @Test func contrastiveTrainingSeparatesClusters() throws {
        let (x, labels) = TrainingTests.clustered(n: 128, d: 36, clusters: 4, noise: 0.2, seed: 12)
        let images = x.map { 1 / (1 + Foundation.exp(-$0)) }  // squash into [0, 1] like pixels
        var c = TrainingConfiguration(method: .sdc, bits: 16)
        c.sdcContrastive = true
        c.imageShape = try ImageInput(width: 6, height: 6, channels: 1)
        c.epochs = 6
        c.batchSize = 32
        c.learningRate = 1e-3
        let result = try Trainer.train(features: images, configuration: c)
        #expect(result.model.imageInput == c.imageShape)
        #expect(result.epochs.allSatisfy { $0.loss.isFinite })
        let codes = try result.model.encode(images)
        let s = TrainingTests.separation(codes, labels)
        #expect(s.same < s.different, "same \(s.same) vs different \(s.different)")
        c.imageShape = nil
        #expect(throws: BihashError.self) { _ = try Trainer.train(features: images, configuration: c) }
    }
}
