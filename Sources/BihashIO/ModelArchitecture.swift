import BihashCore
import BihashNN
import BihashMethods

/// One layer of a model's inference graph, as recorded in `bihash.arch` and exported to ONNX.
///
/// Every encoder bihash trains is a chain of these; a `Sequential` nested in the encoder is flattened.
enum LayerSpec: Equatable {
    /// y = x·Wᵀ + b; tensors `<name>.weight` [out, in] and `<name>.bias` [out].
    case linear(name: String, inFeatures: Int, outFeatures: Int)
    case relu
    /// Exact GELU: 0.5·x·(1 + erf(x/√2)).
    case gelu
    case tanh
    case sigmoid
    /// Eval-mode batch norm; tensors `<name>.weight`, `<name>.bias`, `<name>.running_mean`, `<name>.running_var`,
    /// all [features].
    case batchNorm(name: String, features: Int, eps: Double, momentum: Double)
    /// Identity at inference (kept so the layer list matches training).
    case dropout(probability: Double)

    /// The `type` string of `bihash.arch`.
    var typeName: String {
        switch self {
        case .linear: return "linear"
        case .relu: return "relu"
        case .gelu: return "gelu"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .batchNorm: return "batchnorm1d"
        case .dropout: return "dropout"
        }
    }

    /// Every `type` this version reads.
    static let knownTypes = ["linear", "relu", "gelu", "tanh", "sigmoid", "batchnorm1d", "dropout"]

    /// The tensors the layer owns: (name, shape), in a fixed order.
    var tensorShapes: [(name: String, shape: [Int])] {
        switch self {
        case .linear(let n, let i, let o): return [("\(n).weight", [o, i]), ("\(n).bias", [o])]
        case .batchNorm(let n, let f, _, _):
            return [("\(n).weight", [f]), ("\(n).bias", [f]), ("\(n).running_mean", [f]), ("\(n).running_var", [f])]
        default: return []
        }
    }

    /// The `bihash.arch` entry.
    var json: JSONValue {
        switch self {
        case .linear(let n, let i, let o):
            return .object([("type", .string(typeName)), ("in", JSONWriter.number(i)), ("out", JSONWriter.number(o)), ("name", .string(n))])
        case .batchNorm(let n, let f, let eps, let m):
            return .object([("type", .string(typeName)), ("features", JSONWriter.number(f)), ("eps", JSONWriter.number(eps)),
                            ("momentum", JSONWriter.number(m)), ("name", .string(n))])
        case .dropout(let p):
            return .object([("type", .string(typeName)), ("p", JSONWriter.number(p))])
        default:
            return .object([("type", .string(typeName))])
        }
    }
}

/// A model's layers with their specs, after checking that the chain maps D inputs to K outputs.
struct ModelArchitecture {
    /// (spec, layer) in forward order.
    let layers: [(spec: LayerSpec, layer: any Layer<Float>)]

    /// The encoder's layers, nested `Sequential`s flattened, in forward order.
    static func flatten(_ sequential: Sequential<Float>) -> [any Layer<Float>] {
        sequential.layers.flatMap { layer -> [any Layer<Float>] in
            if let inner = layer as? Sequential<Float> { return flatten(inner) }
            return [layer]
        }
    }

    /// The name prefix shared by a parameter pair `<prefix>.weight` / `<prefix>.bias` (and, for batch norm,
    /// `<prefix>.running_mean` / `<prefix>.running_var`).
    private static func prefix(of layer: String, weight: String, others: [(String, String)]) throws -> String {
        guard weight.hasSuffix(".weight"), weight.count > ".weight".count else {
            throw BihashError.invalidArgument("\(layer): parameter name '\(weight)' does not end in '.weight'; model files name tensors '<layer>.weight', '<layer>.bias'")
        }
        let p = String(weight.dropLast(".weight".count))
        for (name, suffix) in others where name != "\(p).\(suffix)" {
            throw BihashError.invalidArgument("\(layer): parameter name '\(name)' should be '\(p).\(suffix)' to match '\(weight)'")
        }
        return p
    }

    /// Describes `model.encoder`, checking every layer is exportable, shapes chain from D to K, tensor names
    /// are unique, and every value is finite.
    /// - Throws: `BihashError.invalidArgument` for an unknown layer type or inconsistent shapes or names,
    ///   `.numerical` for a NaN or infinite weight.
    init(model: HashModel) throws {
        var out: [(LayerSpec, any Layer<Float>)] = []
        var width = model.headInputDimension
        var names = Set<String>()
        for (index, layer) in ModelArchitecture.flatten(model.encoder).enumerated() {
            let spec: LayerSpec
            let what = "encoder layer \(index) (\(layer.summary))"
            if let l = layer as? Linear<Float> {
                let p = try ModelArchitecture.prefix(of: what, weight: l.weight.name, others: [(l.bias.name, "bias")])
                try require(l.inFeatures >= 1 && l.outFeatures >= 1, "\(what): empty layer")
                try require(l.weight.value.shape == [l.outFeatures, l.inFeatures] && l.bias.value.shape == [l.outFeatures],
                            "\(what): parameter shapes \(l.weight.value.shape), \(l.bias.value.shape) do not match Linear(\(l.inFeatures)→\(l.outFeatures))")
                try require(l.inFeatures == width, "\(what) takes \(l.inFeatures) inputs but receives \(width)")
                width = l.outFeatures
                spec = .linear(name: p, inFeatures: l.inFeatures, outFeatures: l.outFeatures)
            } else if let bn = layer as? BatchNorm1d<Float> {
                let p = try ModelArchitecture.prefix(of: what, weight: bn.weight.name, others: [
                    (bn.bias.name, "bias"), (bn.runningMean.name, "running_mean"), (bn.runningVar.name, "running_var")])
                try require(bn.numFeatures == width, "\(what) normalises \(bn.numFeatures) features but receives \(width)")
                for t in [bn.weight, bn.bias, bn.runningMean, bn.runningVar] {
                    try require(t.value.shape == [bn.numFeatures], "\(what): \(t.name) has shape \(t.value.shape), expected [\(bn.numFeatures)]")
                }
                try require(bn.eps.isFinite && bn.eps >= 0, "\(what): eps must be finite and ≥ 0, got \(bn.eps)")
                try require(bn.momentum.isFinite, "\(what): momentum must be finite, got \(bn.momentum)")
                spec = .batchNorm(name: p, features: bn.numFeatures, eps: bn.eps, momentum: bn.momentum)
            } else if layer is ReLU<Float> {
                spec = .relu
            } else if layer is GELU<Float> {
                spec = .gelu
            } else if layer is Tanh<Float> {
                spec = .tanh
            } else if layer is Sigmoid<Float> {
                spec = .sigmoid
            } else if let d = layer as? Dropout<Float> {
                spec = .dropout(probability: Double(d.probability))
            } else {
                throw BihashError.invalidArgument(
                    "\(what): layer type \(type(of: layer)) cannot be saved or exported; supported layers: Linear, ReLU, GELU, Tanh, Sigmoid, BatchNorm1d, Dropout")
            }
            for (name, _) in spec.tensorShapes {
                try require(names.insert(name).inserted, "\(what): tensor name '\(name)' is used twice in the encoder")
            }
            for p in layer.parameters + layer.buffers {
                if let i = p.value.scalars.firstIndex(where: { !$0.isFinite }) {
                    throw BihashError.numerical("\(what): \(p.name)[\(i)] is \(p.value.scalars[i]); a model must have finite weights")
                }
            }
            out.append((spec, layer))
        }
        try require(width == model.bits, "the encoder outputs \(width) values per row but the model has K = \(model.bits) bits")
        layers = out.map { (spec: $0.0, layer: $0.1) }
    }

    /// The `bihash.arch` metadata value: a compact JSON array of the layer entries.
    var json: String { JSONWriter.serialize(.array(layers.map { $0.spec.json })) }

    /// Every named tensor of the encoder (parameters and buffers) with its value.
    var tensors: [(name: String, value: Tensor<Float>)] {
        layers.flatMap { entry -> [(name: String, value: Tensor<Float>)] in
            if let l = entry.layer as? Linear<Float> { return [(l.weight.name, l.weight.value), (l.bias.name, l.bias.value)] }
            if let bn = entry.layer as? BatchNorm1d<Float> {
                return [bn.weight, bn.bias, bn.runningMean, bn.runningVar].map { ($0.name, $0.value) }
            }
            return []
        }
    }
}
