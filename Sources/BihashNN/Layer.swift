import BihashCore

/// A trainable parameter: its value and the gradient accumulated by backward passes.
///
/// Parameters are reference types so that a layer, its optimizer and the weight writer all see one copy.
public final class Parameter<T: TensorScalar> {
    /// Stable name used in weight files and ONNX initialisers, e.g. `encoder.0.weight`.
    public var name: String
    public var value: Tensor<T>
    /// ∂L/∂value, accumulated (+=) by `backward`; cleared by `zeroGrad()`.
    public var grad: Tensor<T>

    public init(name: String, value: Tensor<T>) {
        self.name = name
        self.value = value
        self.grad = Tensor(zeros: value.shape)
    }

    public func zeroGrad() { grad.zero() }
}

/// A differentiable layer: `forward` caches what `backward` needs; `backward` takes ∂L/∂output, accumulates
/// ∂L/∂parameters into each parameter's `grad`, and returns ∂L/∂input.
///
/// Calling `backward` without a preceding training-mode `forward` throws `BihashError.invalidState`.
public protocol Layer<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    /// Output for a batch `x`; `training` selects batch statistics, dropout, and caching for backward.
    func forward(_ x: Tensor<Scalar>, training: Bool) throws -> Tensor<Scalar>
    /// ∂L/∂input from ∂L/∂output of the last training forward pass.
    func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar>
    /// Trainable parameters, in a fixed order (empty for parameter-free layers).
    var parameters: [Parameter<Scalar>] { get }
    /// A short description for logs and model metadata, e.g. `Linear(784→256)`.
    var summary: String { get }
}

extension Layer {
    public var parameters: [Parameter<Scalar>] { [] }
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Layers applied one after another.
public final class Sequential<T: TensorScalar>: Layer {
    public typealias Scalar = T
    public let layers: [any Layer<T>]

    public init(_ layers: [any Layer<T>]) { self.layers = layers }

    public func forward(_ x: Tensor<T>, training: Bool) throws -> Tensor<T> {
        var h = x
        for layer in layers { h = try layer.forward(h, training: training) }
        return h
    }

    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        var g = gradOutput
        for layer in layers.reversed() { g = try layer.backward(g) }
        return g
    }

    public var parameters: [Parameter<T>] { layers.flatMap { $0.parameters } }
    public var summary: String { layers.map(\.summary).joined(separator: " → ") }
}
