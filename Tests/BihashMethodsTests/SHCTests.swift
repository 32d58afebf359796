import BihashCore
import BihashNN
import Foundation
import Testing
import _BihashTestSupport
@testable import BihashMethods

/// SHC stages 1 and 3 (ALGORITHMS.md §3.1, §3.4): the centre loss and the class-similarity matrix against
/// finite differences and NumPy (tools/reference/shc_loss.py, shc_similarity.py), label validation, the centre
/// codec, and a supervised training run that separates classes an unsupervised method cannot.
@Suite struct SHCTests {
    func nested<T: TensorScalar>(_ x: Tensor<T>) -> [[Double]] { (0..<x.rows).map { x.row($0).map(\.doubleValue) } }

    /// Seeded ±1 centres [N, K].
    func signs(_ n: Int, _ k: Int, seed: UInt64) -> Tensor<Double> {
        var rng = SeededGenerator(seed: seed)
        return Tensor<Double>.uniform([n, k], low: -1, high: 1, using: &rng).map { $0 > 0 ? 1 : -1 }
    }

    @Test func centerLossGradientMatchesFiniteDifferences() throws {
        var rng = SeededGenerator(seed: 1)
        let u = Tensor<Double>.normal([6, 5], std: 1.5, using: &rng)
        let c = signs(6, 5, seed: 2)
        for lambda in [1e-4, 0.7] {  // 0.7 makes the quantisation term's gradient visible at atol 1e-5
            let loss = SHCCenterLoss<Double>(lambda: lambda)
            _ = try loss.forward(u, centers: c)
            let g = try loss.backward()
            let r = GradientCheck.check("u (λ = \(lambda))", at: u, analyticGradient: g) { try! loss.forward($0, centers: c) }
            print("gradcheck SHCCenterLoss \(r)")
            #expect(r.passed, "\(r)")
        }
    }

    @Test func centerLossMatchesNumPy() throws {
        var rng = SeededGenerator(seed: 3)
        let u = Tensor<Float>.normal([8, 12], std: 2, using: &rng)
        let c = signs(8, 12, seed: 4).converted(to: Float.self)
        let loss = SHCCenterLoss<Float>(lambda: 1e-4)
        let value = try loss.forward(u, centers: c)
        let grad = try loss.backward()
        let ref = try PythonReference.run("shc_loss.py", input: ["op": "center", "u": nested(u), "c": nested(c), "lambd": 1e-4])
        #expect(abs(Double(value) - (ref["loss"] as! Double)) < 1e-5, "loss \(value) vs NumPy \(ref["loss"]!)")
        let refGrad = ((ref["grad"] as? [Any]) ?? []).flatMap { PythonReference.doubles($0) }
        #expect(refGrad.count == grad.count)
        let maxDiff = zip(grad.scalars, refGrad).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(maxDiff < 1e-6, "gradient max diff \(maxDiff)")
        // Saturated Float tanh: the stable form keeps a finite loss and the exact gradient (tanh u − c)/(N·K).
        let big = try Tensor<Float>(shape: [1, 2], scalars: [40, -40])
        let bigValue = try loss.forward(big, centers: try Tensor(shape: [1, 2], scalars: [-1, -1]))
        #expect(abs(bigValue - 40) < 1e-3)  // softplus(80)/2 = 40
        let bigGrad = try loss.backward()
        #expect(abs(bigGrad.scalars[0] - 1) < 1e-6 && abs(bigGrad.scalars[1]) < 1e-6)
    }

    /// Seeded logits [N, C] and labels covering every class.
    func logitsAndLabels(n: Int, c: Int, seed: UInt64) -> (Tensor<Float>, [Int]) {
        var rng = SeededGenerator(seed: seed)
        let z = Tensor<Float>.normal([n, c], std: 2, using: &rng)
        return (z, (0..<n).map { ($0 * 7 + 3) % c })
    }

    @Test(arguments: [(40, 5), (90, 10), (12, 3)])
    func similarityMatchesNumPy(n: Int, c: Int) throws {
        let (z, y) = logitsAndLabels(n: n, c: c, seed: UInt64(n + c))
        let s = try SHCSimilarity.matrix(logits: z, labels: y)
        let ref = try PythonReference.run("shc_similarity.py", input: ["logits": nested(z), "labels": y])
        let refS = ((ref["S"] as? [Any]) ?? []).flatMap { PythonReference.doubles($0) }
        #expect(s.shape == [c, c] && refS.count == c * c)
        let maxDiff = zip(s.scalars, refS).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxDiff < 1e-9, "S max diff \(maxDiff)")
        for i in 0..<c {
            #expect(s.scalars[i * c + i] == 1)
            // Row-normalised (before the diagonal is set): the largest deviation is exactly ±1.
            let offDiagonal = (0..<c).filter { $0 != i }.map { s.scalars[i * c + $0] }
            #expect(offDiagonal.allSatisfy { $0 >= -1 - 1e-12 && $0 <= 1 + 1e-12 })
        }
    }

    @Test func similarityRejectsBadInput() throws {
        let (z, y) = logitsAndLabels(n: 10, c: 4, seed: 9)
        #expect(throws: BihashError.self) { _ = try SHCSimilarity.matrix(logits: z, labels: Array(y.dropLast())) }
        #expect(throws: BihashError.self) { _ = try SHCSimilarity.matrix(logits: z, labels: y.map { $0 == 0 ? 4 : $0 }) }
        #expect(throws: BihashError.self) { _ = try SHCSimilarity.matrix(logits: Tensor<Float>(zeros: [3, 1]), labels: [0, 0, 0]) }
    }

    @Test func centerCodecRoundTrips() throws {
        let example = try Tensor<Float>(shape: [1, 6], scalars: [1, -1, -1, 1, 1, 1])
        #expect(SHCCenterCodec.encode(example) == "9c")
        for k in [6, 16, 33, 64] {
            let c = signs(5, k, seed: UInt64(k)).converted(to: Float.self)
            let text = SHCCenterCodec.encode(c)
            #expect(text.split(separator: ",").count == 5)
            #expect(try SHCCenterCodec.decode(text, bits: k) == c)
        }
        #expect(throws: BihashError.self) { _ = try SHCCenterCodec.decode("9c,9", bits: 6) }
        #expect(throws: BihashError.self) { _ = try SHCCenterCodec.decode("9g", bits: 6) }
    }

    @Test func badLabelsGetClearErrors() throws {
        var rng = SeededGenerator(seed: 5)
        let x = Tensor<Float>.normal([20, 6], using: &rng)
        var c = TrainingConfiguration(method: .shc, bits: 16)
        c.epochs = 1
        func message(_ labels: [Int]?) -> String {
            do {
                _ = try Trainer.train(features: x, labels: labels, configuration: c)
                return "no error"
            } catch let e as BihashError {
                return "\(e)"
            } catch {
                return "not a BihashError: \(error)"
            }
        }
        let good = (0..<20).map { $0 % 4 }
        let cases: [([Int]?, String)] = [
            (nil, "needs class labels"),
            (Array(good.dropLast()), "19 labels for 20 rows"),
            (good.enumerated().map { $0.offset == 7 ? -2 : $0.element }, "label 7 is -2"),
            (good.map { $0 == 2 ? 9 : $0 }, "class 2 has no training rows"),
            (good.enumerated().map { $0.offset == 3 ? 1000 : $0.element }, "out of range"),
            ([Int](repeating: 3, count: 20), "at least 2 classes"),
            ([Int](repeating: 0, count: 20), "at least 2 classes"),
        ]
        for (labels, expected) in cases {
            let m = message(labels)
            #expect(m.contains(expected), "labels \(String(describing: labels?.prefix(8))): got '\(m)', expected '\(expected)'")
        }
        // The label-free entry point refuses SHC.
        #expect(throws: BihashError.self) { _ = try Trainer.train(features: x, configuration: c) }
        // Unsupervised methods still check labels they are given.
        #expect(throws: BihashError.self) {
            _ = try Trainer.train(features: x, labels: [1, 2], configuration: TrainingConfiguration(method: .lsh, bits: 8))
        }
    }

    @Test func defaultsFollowTheSpec() {
        let c = TrainingConfiguration(method: .shc, bits: 32)
        #expect(c.optimizer == .rmsprop && c.learningRate == 1e-4 && c.weightDecay == 1e-5)
        #expect(c.epochs == 100 && c.batchSize == 64 && c.learningRateSchedule == .cosine(etaMin: 1e-7))
        #expect(c.shcQuantizationWeight == 1e-4 && c.shcClassifierEpochs == 100 && c.shcClassifierLearningRate == 1e-4)
        #expect(HashMethod.shc.isDeep && HashMethod.shc.isSupervised && !HashMethod.sdc.isSupervised)
    }

    /// Four classes whose signal sits in 4 low-variance dimensions under 28 high-variance noise dimensions: the
    /// feature cosine (what unsupervised methods preserve) is dominated by noise, the labels are not.
    func clustered(perClass: Int, seed: UInt64) -> (Tensor<Float>, [Int]) {
        var rng = SeededGenerator(seed: seed)
        let classes = 4, d = 32
        var x = Tensor<Float>.normal([classes * perClass, d], std: 3, using: &rng)
        var labels: [Int] = []
        for i in 0..<(classes * perClass) {
            let y = i % classes
            labels.append(y)
            for j in 0..<4 { x.scalars[i * d + j] = (j == y ? 2.5 : -0.5) + 0.3 * Float(rng.nextNormal()) }
        }
        return (x, labels)
    }

    /// Mean precision of the 20 Hamming-nearest database codes (stable ties) of each query.
    func precisionAt20(_ model: HashModel, queries: Tensor<Float>, queryLabels: [Int], database: Tensor<Float>, databaseLabels: [Int]) throws -> Double {
        let q = try model.project(queries), b = try model.project(database)
        let k = model.bits
        var total = 0.0
        for i in 0..<q.rows {
            let qi = q.row(i).map { $0 >= 0 }
            let distances = (0..<b.rows).map { j -> Int in
                let bj = b.row(j)
                return (0..<k).reduce(0) { $0 + (qi[$1] != (bj[bj.startIndex + $1] >= 0) ? 1 : 0) }
            }
            let order = (0..<b.rows).sorted { distances[$0] < distances[$1] || (distances[$0] == distances[$1] && $0 < $1) }
            total += Double(order.prefix(20).filter { databaseLabels[$0] == queryLabels[i] }.count) / 20
        }
        return total / Double(q.rows)
    }

    @Test func shcSeparatesClassesBetterThanAnUnsupervisedMethod() throws {
        let (x, y) = clustered(perClass: 150, seed: 21)
        let (xq, yq) = clustered(perClass: 25, seed: 22)
        var c = TrainingConfiguration(method: .shc, bits: 16)
        c.epochs = 8
        c.learningRate = 1e-3
        c.shcClassifierEpochs = 15
        c.shcClassifierLearningRate = 1e-3  // few classifier epochs: a larger step (see the property's doc)
        c.seed = 3
        var reported = 0
        let shc = try Trainer.train(features: x, labels: y, configuration: c) { _ in reported += 1; return true }
        #expect(reported == 8)  // progress reports stage-3 epochs
        #expect(shc.epochs.count == 8 && shc.epochs.last!.loss < shc.epochs.first!.loss)
        let meta = shc.model.metadata
        #expect(meta["shc.classes"] == "4")
        let centers = try SHCCenterCodec.decode(try #require(meta["shc.centers"]), bits: 16)
        #expect(centers.shape == [4, 16])
        let dText = try #require(meta["shc.required_distance"])
        let d = try #require(Int(dText))
        #expect(d == (try HashCenters.requiredDistance(bits: 16, classes: 4)))

        var u = TrainingConfiguration(method: .bihalf, bits: 16)
        u.epochs = 8
        u.seed = 3
        let unsupervised = try Trainer.train(features: x, configuration: u)
        let pSHC = try precisionAt20(shc.model, queries: xq, queryLabels: yq, database: x, databaseLabels: y)
        let pBH = try precisionAt20(unsupervised.model, queries: xq, queryLabels: yq, database: x, databaseLabels: y)
        print("SHC precision@20 \(pSHC), bi-half \(pBH)")
        #expect(pSHC > 0.9 && pSHC > pBH + 0.3)
    }
}
