import BihashCore
import BihashNN

/// A trained hashing model: optional input preprocessing, then an encoder network whose output
/// U: [N, K] gives the codes b = sign(U) with sign(0) = +1.
///
/// Every method ends in this one inference graph, so encoding, weight files and ONNX export treat all
/// methods alike. Training-only parts (decoders, binarizer layers) are not part of the model.
///
/// Thread safety: `HashModel.encode` (and `project`) may be called concurrently from several threads on one
/// model; the calls run in parallel and each gives exactly the codes it would give alone. Inference only reads
/// the model: the preprocessing is a pure function, the encoder's layers run with `training: false` (which
/// caches, draws and counts nothing, see `Layer`), and the backbone keeps its work buffers per call (its pool of
/// reusable buffers is locked). Nothing may change the model (`imageInput`, `metadata`, the encoder's parameters,
/// training its layers) while another thread uses it.
public final class HashModel {
    public let method: HashMethod
    /// K, bits per code.
    public let bits: Int
    /// D, the expected feature dimension of each input row (S·S·3 image values for a model with a backbone).
    public let inputDimension: Int
    /// A frozen pretrained CNN between the input rows and the encoder (nil: the encoder sees the rows).
    public let backbone: ImageBackbone?
    public let preprocessing: InputPreprocessing
    /// Maps preprocessed inputs [N, D] to pre-sign values U: [N, K] (evaluated in eval mode).
    public let encoder: Sequential<Float>
    /// Set when the model's input rows are images: decoded image files are converted to this shape, channel-last
    /// (H·W·C values per row, e.g. 28×28×1 for Fashion-MNIST pixels) and scaled to [0, 1] (pixel / 255).
    public var imageInput: ImageInput?
    /// Free-form facts about how the model was trained (recipe, γ, epochs, seed…), stored with the weights.
    public var metadata: [String: String]

    /// - Parameter backbone: a frozen CNN in front of the encoder; then `inputDimension` must be its S·S·3, the
    ///   preprocessing `.none`, and `imageInput` is set to its S × S × 3.
    public init(method: HashMethod, bits: Int, inputDimension: Int, preprocessing: InputPreprocessing = .none,
                encoder: Sequential<Float>, metadata: [String: String] = [:], backbone: ImageBackbone? = nil) throws {
        try PackedCodes.validateBits(bits)
        try require(inputDimension >= 1, "input dimension must be ≥ 1, got \(inputDimension)")
        if let backbone {
            try require(inputDimension == backbone.inputDimension && preprocessing == .none,
                        "a model with the \(backbone.name) backbone takes \(backbone.imageSize)×\(backbone.imageSize)×3 image rows (\(backbone.inputDimension) values) without preprocessing, got dimension \(inputDimension), preprocessing \(preprocessing.rawValue)")
        }
        self.method = method
        self.bits = bits
        self.inputDimension = inputDimension
        self.preprocessing = preprocessing
        self.encoder = encoder
        self.metadata = metadata
        self.backbone = backbone
        self.imageInput = backbone?.imageInput
    }

    /// The trained `head` (whose input rows are the backbone's features) behind `backbone`: a model that takes
    /// image rows, or image files, and gives the head's codes.
    /// - Throws: `BihashError.invalidArgument` unless the head takes the backbone's features without preprocessing.
    public convenience init(head: HashModel, backbone: ImageBackbone) throws {
        try require(head.backbone == nil && head.inputDimension == backbone.featureDimension && head.preprocessing == .none,
                    "a head behind the \(backbone.name) backbone must take its \(backbone.featureDimension) features without preprocessing; this \(head.method.rawValue) model takes \(head.inputDimension) values (\(head.preprocessing.rawValue))")
        try self.init(method: head.method, bits: head.bits, inputDimension: backbone.inputDimension,
                      encoder: head.encoder, metadata: head.metadata, backbone: backbone)
    }

    /// Width of the encoder's input rows: the backbone's features, or the model's input rows.
    public var headInputDimension: Int { backbone?.featureDimension ?? inputDimension }

    /// Rows encoded per encoder call, bounding temporary memory for large inputs.
    public static let encodeChunkRows = 4096

    /// Pre-sign values U: [N, K] for features x: [N, D]. Validates the shape and that x is finite.
    /// May run on several threads at once (see the type's thread safety).
    public func project(_ x: Tensor<Float>) throws -> Tensor<Float> {
        try require(x.rank == 2 && x.cols == inputDimension,
                    "\(method.rawValue) model expects features of shape [N, \(inputDimension)], got \(x.shape)")
        try requireFinite(x)
        var out = [Float]()
        out.reserveCapacity(x.rows * bits)
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + HashModel.encodeChunkRows)
            var rows = preprocessing.apply(x.rows(start..<end))
            if let backbone { rows = try backbone.features(rows: rows) }
            let u = try encoder.forward(rows, training: false)
            out.append(contentsOf: u.scalars)
            start = end
        }
        return Tensor(uncheckedShape: [x.rows, bits], scalars: out)
    }

    /// Packed codes sign(U) for features x: [N, D]. May run on several threads at once, in parallel.
    public func encode(_ x: Tensor<Float>) throws -> PackedCodes {
        try PackedCodes(signsOf: project(x))
    }
}

/// How image files become an input row: resized to `width`×`height`, converted to `channels` (1 = luma,
/// 3 = RGB), flattened row-major channel-last, and scaled to [0, 1].
public struct ImageInput: Equatable, Sendable, Codable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public init(width: Int, height: Int, channels: Int) throws {
        try require(width >= 1 && height >= 1 && (channels == 1 || channels == 3),
                    "image input must have width, height ≥ 1 and 1 or 3 channels, got \(width)×\(height)×\(channels)")
        self.width = width; self.height = height; self.channels = channels
    }
    /// Values per row: width · height · channels.
    public var dimension: Int { width * height * channels }
}

/// Throws `BihashError.numerical` naming the first non-finite element of a feature matrix.
public func requireFinite(_ x: Tensor<Float>) throws {
    if let i = x.scalars.firstIndex(where: { !$0.isFinite }) {
        let c = max(1, x.cols)
        throw BihashError.numerical("features contain \(x.scalars[i]) at row \(i / c), column \(i % c); all values must be finite")
    }
}
