import BihashCore

// Shape legend for BihashNN: N = batch size (rows), D = features per row, K = bits, H = hidden width.
//
// Performance note: layers are generic classes reached through `any Layer<T>`, so a caller in another module
// runs the class's generic method body. Every hot method is therefore marked
// `@_specialize(where T == Float)` / `@_specialize(where T == Double)`: the generic entry point checks the
// type once and jumps to a fully specialised copy, instead of running the element loops through protocol
// witnesses (two orders of magnitude slower). Keep the attribute on any new forward/backward/step method.

/// A named tensor owned by a layer: a trainable parameter (value and gradient) or a non-trainable buffer
/// (such as BatchNorm's running statistics, whose `grad` stays zero and unused).
///
/// Parameters are reference types so that a layer, its optimizer and the weight writer all see one copy.
public final class Parameter<T: TensorScalar> {
    /// Stable name used in weight files and ONNX initialisers, e.g. `encoder.0.weight` (PyTorch's
    /// `state_dict` names where a PyTorch counterpart exists, e.g. `bn.running_mean`).
    public var name: String
    /// The current value.
    public var value: Tensor<T>
    /// ∂L/∂value, accumulated (+=) by `backward`; cleared by `zeroGrad()`. Same shape as `value`.
    public var grad: Tensor<T>

    /// A parameter named `name` holding `value`, with a zero gradient of the same shape.
    public init(name: String, value: Tensor<T>) {
        self.name = name
        self.value = value
        self.grad = Tensor(zeros: value.shape)
    }

    /// Sets the gradient to zero (reshaping it to `value`'s shape if the value was replaced).
    public func zeroGrad() {
        if grad.shape != value.shape { grad = Tensor(zeros: value.shape) } else { grad.zero() }
    }
}

/// A differentiable layer: `forward` caches what `backward` needs; `backward` takes ∂L/∂output, accumulates
/// ∂L/∂parameters into each parameter's `grad`, and returns ∂L/∂input.
///
/// Calling `backward` without a preceding training-mode `forward` throws `BihashError.invalidState`.
/// `backward` may be called more than once after one forward (each call accumulates again).
///
/// Thread safety: `forward(_:training: false)` only reads the layer — it caches nothing for backward, draws no
/// random numbers, updates no statistics or counters and keeps no scratch buffers in the layer — so several
/// threads may run eval forwards of one layer (or `Sequential`) at once, as `HashModel.encode` does. Every
/// conforming layer must keep it so. Training forwards, `backward` and parameter updates are exclusive.
///
/// ```swift
/// var rng = SeededGenerator(seed: 0)
/// let net = Sequential<Float>([Linear(784, 256, name: "enc.0", using: &rng), ReLU(),
///                              Linear(256, 16, name: "enc.2", using: &rng)])
/// let u = try net.forward(x, training: true)      // x: [N, 784] → u: [N, 16]
/// net.zeroGrad()
/// let dx = try net.backward(du)                   // du: [N, 16] → dx: [N, 784]
/// ```
public protocol Layer<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    /// Output for a batch `x`; `training` selects batch statistics, dropout, and caching for backward.
    /// With `training: false` the layer is only read (thread-safe, see the protocol's documentation).
    func forward(_ x: Tensor<Scalar>, training: Bool) throws -> Tensor<Scalar>
    /// ∂L/∂input from ∂L/∂output of the last training forward pass.
    func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar>
    /// Trainable parameters, in a fixed order (empty for parameter-free layers).
    var parameters: [Parameter<Scalar>] { get }
    /// Non-trainable named state saved with the weights (BatchNorm's `running_mean` / `running_var`), in a
    /// fixed order; empty by default. Optimizers never see these; weight files store them next to `parameters`.
    var buffers: [Parameter<Scalar>] { get }
    /// A short description for logs and model metadata, e.g. `Linear(784→256)`.
    var summary: String { get }
}

extension Layer {
    public var parameters: [Parameter<Scalar>] { [] }
    public var buffers: [Parameter<Scalar>] { [] }
    /// Clears every parameter gradient (backward accumulates, so call this before each batch).
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Layers applied one after another: `forward` runs them first to last, `backward` last to first.
public final class Sequential<T: TensorScalar>: Layer {
    public typealias Scalar = T
    /// The layers, in forward order.
    public let layers: [any Layer<T>]

    /// Chains `layers`, e.g. `Sequential<Float>([Linear(784, 256, using: &rng), ReLU(), Linear(256, 16, using: &rng)])`.
    public init(_ layers: [any Layer<T>]) { self.layers = layers }

    // x: [N, D_in] → y: [N, D_out]
    public func forward(_ x: Tensor<T>, training: Bool) throws -> Tensor<T> {
        var h = x
        for layer in layers { h = try layer.forward(h, training: training) }
        return h
    }

    // dy: [N, D_out] → dx: [N, D_in]
    public func backward(_ gradOutput: Tensor<T>) throws -> Tensor<T> {
        var g = gradOutput
        for layer in layers.reversed() { g = try layer.backward(g) }
        return g
    }

    /// Every layer's parameters, in layer order.
    public var parameters: [Parameter<T>] { layers.flatMap { $0.parameters } }
    /// Every layer's buffers, in layer order.
    public var buffers: [Parameter<T>] { layers.flatMap { $0.buffers } }
    public var summary: String { layers.map(\.summary).joined(separator: " → ") }
}
