import BihashCore
import BihashNN
import Foundation

/// The mini-batch loop shared by every gradient-trained recipe: per-epoch learning-rate schedule (multi-step or cosine),
/// a fresh seeded shuffle each epoch, one optimizer step per batch, timing and progress.
enum EpochLoop {
    /// Runs `configuration.epochs` epochs over `sampleCount` samples. `step` gets the batch's sample indices,
    /// must leave the gradients of `parameters` filled (they are zeroed before each call) and returns the loss.
    static func run(sampleCount: Int, configuration c: TrainingConfiguration, parameters: [Parameter<Float>],
                    dropLast: Bool = false, progress: TrainingProgress?,
                    step: ([Int]) throws -> Double) throws -> [EpochReport] {
        let optimizer = try makeOptimizer(c, parameters: parameters)
        let schedule: any LearningRateSchedule
        switch c.learningRateSchedule {
        case .multiStep:
            schedule = MultiStepLR(baseLearningRate: c.learningRate, milestones: c.learningRateMilestones, gamma: c.learningRateDecay)
        case .cosine(let etaMin):  // CosineAnnealingLR(T_max = epochs), stepped per epoch
            schedule = try CosineAnnealingLR(baseLearningRate: c.learningRate, tMax: max(1, c.epochs), etaMin: etaMin)
        }
        var sampler = try BatchSampler(count: sampleCount, batchSize: min(c.batchSize, sampleCount), dropLast: dropLast && sampleCount >= c.batchSize, seed: c.seed &+ 1)
        var reports: [EpochReport] = []
        for epoch in 0..<c.epochs {
            let lr = schedule.learningRate(epoch: epoch)
            optimizer.learningRate = Float(lr)
            let start = DispatchTime.now().uptimeNanoseconds
            var lossSum = 0.0, batches = 0, samples = 0
            for batch in sampler.nextEpoch() where batch.count >= 2 {  // a 1-sample remainder cannot be paired or ranked
                for p in parameters { p.zeroGrad() }
                let loss = try step(batch)
                guard loss.isFinite else {
                    throw BihashError.numerical("training diverged: loss is \(loss) at epoch \(epoch + 1); lower the learning rate")
                }
                try optimizer.step()
                lossSum += loss; batches += 1; samples += batch.count
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let report = EpochReport(epoch: epoch + 1, epochs: c.epochs, loss: batches > 0 ? lossSum / Double(batches) : 0,
                                     learningRate: lr, seconds: seconds, samples: samples)
            reports.append(report)
            if let progress, !progress(report) {
                throw BihashError.cancelled("training cancelled by the progress callback after epoch \(epoch + 1)")
            }
        }
        return reports
    }

    static func makeOptimizer(_ c: TrainingConfiguration, parameters: [Parameter<Float>]) throws -> any Optimizer<Float> {
        switch c.optimizer {
        case .sgd: return try SGD(parameters: parameters, learningRate: Float(c.learningRate), momentum: Float(c.momentum), weightDecay: Float(c.weightDecay))
        case .adam: return try Adam(parameters: parameters, learningRate: Float(c.learningRate), weightDecay: Float(c.weightDecay))
        case .rmsprop: return try RMSprop(parameters: parameters, learningRate: Float(c.learningRate), weightDecay: Float(c.weightDecay))
        }
    }

    /// The binarizer layer of a deep method.
    static func makeBinarizer(_ c: TrainingConfiguration) -> any Layer<Float> {
        let gamma = Float(c.effectiveGamma)
        switch c.method {
        case .bihalf: return BiHalf<Float>(gamma: gamma)
        default: return SignSTE<Float>(gamma: gamma)
        }
    }
}
