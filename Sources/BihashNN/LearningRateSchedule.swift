import BihashCore
import Foundation

/// A learning rate as a function of the epoch, stepped once per epoch (ALGORITHMS.md §4 item 12), in
/// PyTorch's closed forms. Epochs count from 0: `learningRate(epoch: e)` is the rate PyTorch's scheduler
/// gives during epoch e, i.e. after e calls of `scheduler.step()`.
///
/// ```swift
/// let schedule = try MultiStepLR(baseLearningRate: 1e-3, milestones: [60, 80], gamma: 0.1)
/// for epoch in 0..<100 {
///     schedule.apply(to: adam, epoch: epoch)   // adam.learningRate = 1e-3, 1e-4 from epoch 60, 1e-5 from 80
///     …
/// }
/// ```
public protocol LearningRateSchedule: Sendable {
    /// The learning rate for `epoch` (0-based).
    func learningRate(epoch: Int) -> Double
}

extension LearningRateSchedule {
    /// Sets `optimizer.learningRate` to the rate for `epoch`.
    public func apply<O: Optimizer>(to optimizer: O, epoch: Int) {
        optimizer.learningRate = O.Scalar(learningRate(epoch: epoch))
    }
}

/// A fixed learning rate.
public struct ConstantLearningRate: LearningRateSchedule {
    public let baseLearningRate: Double
    public init(baseLearningRate: Double) { self.baseLearningRate = baseLearningRate }
    public func learningRate(epoch: Int) -> Double { baseLearningRate }
}

/// PyTorch `StepLR`: lr = base·γ^⌊epoch/stepSize⌋.
public struct StepLR: LearningRateSchedule {
    public let baseLearningRate: Double
    public let stepSize: Int
    public let gamma: Double

    /// - Throws: `BihashError.invalidArgument` unless stepSize ≥ 1.
    public init(baseLearningRate: Double, stepSize: Int, gamma: Double = 0.1) throws {
        try require(stepSize >= 1, "StepLR: step size must be ≥ 1, got \(stepSize)")
        self.baseLearningRate = baseLearningRate
        self.stepSize = stepSize
        self.gamma = gamma
    }

    public func learningRate(epoch: Int) -> Double {
        baseLearningRate * pow(gamma, Double(max(0, epoch) / stepSize))
    }
}

/// PyTorch `MultiStepLR`: lr = base·γ^(number of milestones ≤ epoch). A milestone listed twice counts twice,
/// as in PyTorch (which keeps a `Counter`).
public struct MultiStepLR: LearningRateSchedule {
    public let baseLearningRate: Double
    /// Epochs at which the rate is multiplied by γ, sorted.
    public let milestones: [Int]
    public let gamma: Double

    public init(baseLearningRate: Double, milestones: [Int], gamma: Double = 0.1) {
        self.baseLearningRate = baseLearningRate
        self.milestones = milestones.sorted()
        self.gamma = gamma
    }

    public func learningRate(epoch: Int) -> Double {
        let passed = milestones.reduce(0) { $0 + ($1 <= epoch ? 1 : 0) }  // bisect_right(milestones, epoch)
        return baseLearningRate * pow(gamma, Double(passed))
    }
}

/// PyTorch `CosineAnnealingLR` in its closed form (the `_get_closed_form_lr` of the docs' formula):
/// lr = η_min + (base − η_min)·(1 + cos(π·epoch/T_max))/2. Past T_max the cosine continues (period 2·T_max).
public struct CosineAnnealingLR: LearningRateSchedule {
    public let baseLearningRate: Double
    public let tMax: Int
    public let etaMin: Double

    /// - Throws: `BihashError.invalidArgument` unless tMax ≥ 1.
    public init(baseLearningRate: Double, tMax: Int, etaMin: Double = 0) throws {
        try require(tMax >= 1, "CosineAnnealingLR: T_max must be ≥ 1, got \(tMax)")
        self.baseLearningRate = baseLearningRate
        self.tMax = tMax
        self.etaMin = etaMin
    }

    public func learningRate(epoch: Int) -> Double {
        etaMin + (baseLearningRate - etaMin) * (1 + cos(Double.pi * Double(epoch) / Double(tMax))) / 2
    }
}
