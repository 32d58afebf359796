import BihashCore

/// A first-order optimizer over a fixed list of parameters, with PyTorch's `torch.optim` update rules.
///
/// Usage per batch: `zeroGrad()`, forward, backward (fills `Parameter.grad`), `step()`. The learning rate is
/// settable between steps (see `LearningRateSchedule.apply(to:epoch:)`).
///
/// ```swift
/// let adam = try Adam(parameters: net.parameters, learningRate: 1e-3, weightDecay: 1e-5)
/// adam.zeroGrad(); _ = try net.backward(try loss.backward()); try adam.step()
/// ```
public protocol Optimizer<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    /// The parameters updated by `step()`, in the order given at creation.
    var parameters: [Parameter<Scalar>] { get }
    /// The learning rate used by the next `step()`.
    var learningRate: Scalar { get set }
    /// Updates every parameter from its current `grad` (and the optimizer's state).
    /// - Throws: `BihashError.invalidState` if a parameter's value or gradient changed shape since creation.
    func step() throws
}

extension Optimizer {
    /// Clears every parameter gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Validation shared by the optimizers' initialisers.
func validateOptimizerParameters<T>(_ parameters: [Parameter<T>], learningRate: T, weightDecay: T, name: String) throws {
    try require(learningRate >= 0 && learningRate.isFinite, "\(name): learning rate must be finite and ≥ 0, got \(learningRate)")
    try require(weightDecay >= 0 && weightDecay.isFinite, "\(name): weight decay must be finite and ≥ 0, got \(weightDecay)")
    var seen = Set<ObjectIdentifier>()
    for p in parameters {
        try require(seen.insert(ObjectIdentifier(p)).inserted, "\(name): parameter '\(p.name)' is listed twice")
    }
}

/// Throws unless `p.value` and `p.grad` still have the element count `count` the state was created for.
@inline(__always)
func checkParameterShape<T>(_ p: Parameter<T>, count: Int, _ name: String) throws {
    guard p.value.count == count, p.grad.count == count else {
        throw BihashError.invalidState("\(name): parameter '\(p.name)' has \(p.value.count) values and \(p.grad.count) gradients, expected \(count) (was it replaced after the optimizer was created?)")
    }
}

