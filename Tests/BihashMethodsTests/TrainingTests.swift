import BihashCore
import BihashNN
import Testing
@testable import BihashMethods

/// Small, seeded training runs of every recipe: validation, determinism, learning, cancellation.
@Suite struct TrainingTests {
    /// N points around `clusters` random centres in D dimensions (ReLU-like non-negative features), with labels.
    static func clustered(n: Int, d: Int, clusters: Int, noise: Float = 0.3, seed: UInt64) -> (Tensor<Float>, [Int]) {
        var rng = SeededGenerator(seed: seed)
        let centres = Tensor<Float>.normal([clusters, d], using: &rng)
        var x = Tensor<Float>(zeros: [n, d])
        var labels = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let c = i % clusters
            labels[i] = c
            for j in 0..<d { x[i, j] = centres[c, j] + noise * Float(rng.nextNormal()) }
        }
        return (x, labels)
    }

    /// Mean Hamming distance between codes of the same label minus that between different labels.
    static func separation(_ codes: PackedCodes, _ labels: [Int]) -> (same: Double, different: Double) {
        var same = 0.0, sameCount = 0.0, diff = 0.0, diffCount = 0.0
        for i in 0..<codes.count { for j in (i + 1)..<codes.count {
            let d = Double(codes.hammingDistance(i, to: codes, j))
            if labels[i] == labels[j] { same += d; sameCount += 1 } else { diff += d; diffCount += 1 }
        } }
        return (same / sameCount, diff / diffCount)
    }

    @Test(arguments: HashMethod.allCases)
    func featureRecipeLearnsClusters(method: HashMethod) throws {
        let (x, labels) = Self.clustered(n: 200, d: 24, clusters: 4, seed: 1)
        var c = TrainingConfiguration(method: method, bits: 16)
        c.epochs = 15
        c.batchSize = 32
        c.seed = 3
        let result = try Trainer.train(features: x, labels: method.isSupervised ? labels : nil, configuration: c)
        let codes = try result.model.encode(x)
        #expect(codes.count == 200 && codes.bits == 16)
        let s = Self.separation(codes, labels)
        #expect(s.same < 0.6 * s.different, "\(method): same-cluster \(s.same) vs different \(s.different)")
        if method.isDeep { #expect(result.epochs.count == 15) }
    }

    @Test func autoencoderLossDecreasesAndBiHalfBalancesBits() throws {
        let (raw, _) = Self.clustered(n: 256, d: 64, clusters: 8, noise: 0.5, seed: 2)
        var c = TrainingConfiguration(method: .bihalf, bits: 8, recipe: .autoencoder)
        c.scaleMilestones(toEpochs: 6)
        c.seed = 1
        let result = try Trainer.train(features: raw, configuration: c)
        #expect(result.epochs.count == 6)
        #expect(result.epochs.last!.loss < result.epochs.first!.loss)
        #expect(result.model.preprocessing == .minMaxRound)
        // Every bit splits each training batch half/half, so on the training set each bit is close to balanced.
        let codes = try result.model.encode(raw)
        for k in 0..<8 {
            let ones = (0..<codes.count).filter { codes.bit($0, k) }.count
            #expect(abs(Double(ones) / Double(codes.count) - 0.5) < 0.25)
        }
    }

    @Test func trainingIsDeterministicForASeed() throws {
        let (x, _) = Self.clustered(n: 96, d: 12, clusters: 3, seed: 4)
        var c = TrainingConfiguration(method: .bihalf, bits: 12)
        c.epochs = 3
        c.inputDropout = 0.2
        let a = try Trainer.train(features: x, configuration: c).model.encode(x)
        let b = try Trainer.train(features: x, configuration: c).model.encode(x)
        #expect(a == b)
        c.seed = 99
        let other = try Trainer.train(features: x, configuration: c).model.encode(x)
        #expect(other != a)
    }

    @Test func anyCodeWidthPadsWithZeroBits() throws {
        let (x, _) = Self.clustered(n: 64, d: 16, clusters: 2, seed: 5)
        for bits in [1, 3, 13] {
            var c = TrainingConfiguration(method: .bihalf, bits: bits)
            c.epochs = 1
            let codes = try Trainer.train(features: x, configuration: c).model.encode(x)
            #expect(codes.bytesPerCode == (bits + 7) / 8)
            let mask = PackedCodes.paddingMask(bits: bits)
            #expect((0..<codes.count).allSatisfy { codes.code($0).last! & mask == 0 })
        }
    }

    @Test func progressCallbackCanCancel() throws {
        let (x, _) = Self.clustered(n: 64, d: 8, clusters: 2, seed: 6)
        var c = TrainingConfiguration(method: .sign, bits: 8)
        c.epochs = 5
        var seen = 0
        #expect(throws: BihashError.self) {
            _ = try Trainer.train(features: x, configuration: c) { _ in seen += 1; return seen < 2 }
        }
        #expect(seen == 2)
    }

    @Test func badInputGetsClearErrors() throws {
        let (x, _) = Self.clustered(n: 32, d: 8, clusters: 2, seed: 7)
        func message(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch let e as BihashError { return e.message } catch { return "\(error)" }
        }
        var c = TrainingConfiguration(method: .bihalf, bits: 0)
        #expect(message { _ = try Trainer.train(features: x, configuration: c) }?.contains("1...4096") == true)
        c.bits = 4097
        #expect(message { _ = try Trainer.train(features: x, configuration: c) }?.contains("1...4096") == true)
        c.bits = 8; c.batchSize = 1
        #expect(message { _ = try Trainer.train(features: x, configuration: c) }?.contains("batch size") == true)
        c.batchSize = 16
        #expect(message { _ = try Trainer.train(features: Tensor(zeros: [0, 8]), configuration: c) }?.contains("empty") == true)
        var nan = x
        nan[3, 5] = .nan
        #expect(message { _ = try Trainer.train(features: nan, configuration: c) }?.contains("row 3, column 5") == true)
        var itq = TrainingConfiguration(method: .itq, bits: 16)
        itq.seed = 1
        #expect(message { _ = try Trainer.train(features: x, configuration: itq) }?.contains("ITQ") == true)
        c.learningRate = -1
        #expect(message { _ = try Trainer.train(features: x, configuration: c) }?.contains("learning rate") == true)
        #expect(throws: BihashError.self) { _ = try HashMethod(name: "nope") }
    }

    @Test func encodeValidatesItsInput() throws {
        let (x, _) = Self.clustered(n: 32, d: 8, clusters: 2, seed: 8)
        var c = TrainingConfiguration(method: .lsh, bits: 8)
        c.seed = 2
        let model = try Trainer.train(features: x, configuration: c).model
        #expect(throws: BihashError.self) { _ = try model.encode(Tensor(zeros: [4, 9])) }
        var bad = Tensor<Float>(zeros: [2, 8])
        bad[1, 1] = .infinity
        #expect(throws: BihashError.self) { _ = try model.encode(bad) }
        #expect(try model.encode(Tensor(zeros: [0, 8])).count == 0)
    }

    @Test func minMaxRoundBinarisesEachRow() throws {
        let x = try Tensor<Float>(rows: [[0, 10, 4, 6], [3, 3, 3, 3], [-1, 1, 0.2, -0.2]])
        let y = InputPreprocessing.minMaxRound.apply(x)
        // Row 0: (x-0)/10 → 0, 1, .4→0, .6→1; row 1: constant → 0; row 2: (x+1)/2 → 0, 1, .6→1, .4→0.
        #expect(y.scalars == [0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0])
    }
}
