import BihashCore
import BihashNN
import Foundation
import Testing

// Learning-rate schedules against their closed forms, and the seeded batch sampler.

@Suite struct ScheduleTests {
    @Test func stepLR() throws {
        let s = try StepLR(baseLearningRate: 0.1, stepSize: 3, gamma: 0.5)
        let expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]
        for (e, lr) in expected.enumerated() { #expect(abs(s.learningRate(epoch: e) - lr) < 1e-15) }
        // Bi-half image recipe: lr0·0.1^⌊epoch/120⌋.
        let bh = try StepLR(baseLearningRate: 1e-4, stepSize: 120)
        #expect(abs(bh.learningRate(epoch: 119) - 1e-4) < 1e-18 && abs(bh.learningRate(epoch: 240) - 1e-6) < 1e-18)
    }

    @Test func multiStepLR() {
        // Bi-half autoencoder: ×0.1 at epochs 60 and 80; milestones may come unsorted.
        let s = MultiStepLR(baseLearningRate: 1e-3, milestones: [80, 60], gamma: 0.1)
        for (e, lr) in [(0, 1e-3), (59, 1e-3), (60, 1e-4), (79, 1e-4), (80, 1e-5), (99, 1e-5)] {
            #expect(abs(s.learningRate(epoch: e) - lr) < 1e-15, "epoch \(e)")
        }
    }

    @Test func cosineAnnealing() throws {
        let s = try CosineAnnealingLR(baseLearningRate: 0.1, tMax: 10, etaMin: 0.001)
        #expect(abs(s.learningRate(epoch: 0) - 0.1) < 1e-15)
        #expect(abs(s.learningRate(epoch: 5) - (0.001 + 0.099 / 2)) < 1e-15)
        #expect(abs(s.learningRate(epoch: 10) - 0.001) < 1e-15)
        // PyTorch's recursive form, η_t = η_min + (η_{t−1} − η_min)·(1 + cos(πt/T))/(1 + cos(π(t−1)/T)), agrees up to T_max.
        var lr = 0.1
        for t in 1...9 {
            lr = 0.001 + (lr - 0.001) * (1 + cos(Double.pi * Double(t) / 10)) / (1 + cos(Double.pi * Double(t - 1) / 10))
            #expect(abs(s.learningRate(epoch: t) - lr) < 1e-14, "epoch \(t)")
        }
    }

    @Test func constantAndApply() throws {
        let p = Parameter(name: "θ", value: Tensor<Float>(zeros: [1]))
        let adam = try Adam(parameters: [p], learningRate: Float(1))
        ConstantLearningRate(baseLearningRate: 0.25).apply(to: adam, epoch: 7)
        #expect(adam.learningRate == 0.25)
        try StepLR(baseLearningRate: 1, stepSize: 2, gamma: 0.5).apply(to: adam, epoch: 4)
        #expect(adam.learningRate == 0.25)
        #expect(throws: BihashError.self) { try StepLR(baseLearningRate: 1, stepSize: 0) }
        #expect(throws: BihashError.self) { try CosineAnnealingLR(baseLearningRate: 1, tMax: 0) }
    }
}

@Suite struct BatchSamplerTests {
    @Test func everyEpochIsANewPermutation() throws {
        var sampler = try BatchSampler(count: 10, batchSize: 4, seed: 7)
        #expect(sampler.batchesPerEpoch == 3)
        let e1 = sampler.nextEpoch(), e2 = sampler.nextEpoch()
        #expect(e1.map(\.count) == [4, 4, 2] && e2.map(\.count) == [4, 4, 2])
        #expect(e1.flatMap { $0 }.sorted() == Array(0..<10) && e2.flatMap { $0 }.sorted() == Array(0..<10))
        #expect(e1 != e2)
        // The same seed replays the same epochs.
        var again = try BatchSampler(count: 10, batchSize: 4, seed: 7)
        #expect(again.nextEpoch() == e1 && again.nextEpoch() == e2)
    }

    @Test func dropLastAndNoShuffle() throws {
        var sampler = try BatchSampler(count: 10, batchSize: 4, dropLast: true, seed: 1)
        #expect(sampler.batchesPerEpoch == 2)
        let e = sampler.nextEpoch()
        #expect(e.count == 2 && e.allSatisfy { $0.count == 4 } && Set(e.flatMap { $0 }).count == 8)
        var ordered = try BatchSampler(count: 5, batchSize: 2, shuffle: false, seed: 1)
        #expect(ordered.nextEpoch() == [[0, 1], [2, 3], [4]])
    }

    @Test func batchesGatherRows() throws {
        let x = try Tensor<Float>(rows: (0..<6).map { [Float($0), Float($0) * 10] })
        var sampler = try BatchSampler(count: 6, batchSize: 3, seed: 3)
        for batch in sampler.nextEpoch() {
            let xb = x.gatherRows(batch)
            #expect(xb.shape == [3, 2])
            for (r, i) in batch.enumerated() { #expect(xb[r, 0] == Float(i) && xb[r, 1] == Float(i) * 10) }
        }
    }

    @Test func invalidArgumentsThrow() {
        #expect(throws: BihashError.self) { try BatchSampler(count: 0, batchSize: 4, seed: 1) }
        #expect(throws: BihashError.self) { try BatchSampler(count: 10, batchSize: 0, seed: 1) }
        #expect(throws: BihashError.self) { try BatchSampler(count: 3, batchSize: 4, dropLast: true, seed: 1) }
    }
}
