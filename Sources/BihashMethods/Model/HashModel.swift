import BihashCore
import BihashNN

/// A trained hashing model: optional input preprocessing, then an encoder network whose output
/// U: [N, K] gives the codes b = sign(U) with sign(0) = +1.
///
/// Every method ends in this one inference graph, so encoding, weight files and ONNX export treat all
/// methods alike. Training-only parts (decoders, binarizer layers) are not part of the model.
public final class HashModel {
    public let method: HashMethod
    /// K, bits per code.
    public let bits: Int
    /// D, the expected feature dimension of each input row.
    public let inputDimension: Int
    public let preprocessing: InputPreprocessing
    /// Maps preprocessed inputs [N, D] to pre-sign values U: [N, K] (evaluated in eval mode).
    public let encoder: Sequential<Float>
    /// Set when the model's input rows are images: decoded image files are converted to this shape, channel-last
    /// (H·W·C values per row, e.g. 28×28×1 for Fashion-MNIST pixels) and scaled to [0, 1] (pixel / 255).
    public var imageInput: ImageInput?
    /// Free-form facts about how the model was trained (recipe, γ, epochs, seed…), stored with the weights.
    public var metadata: [String: String]

    public init(method: HashMethod, bits: Int, inputDimension: Int, preprocessing: InputPreprocessing = .none,
                encoder: Sequential<Float>, metadata: [String: String] = [:]) throws {
        try PackedCodes.validateBits(bits)
        try require(inputDimension >= 1, "input dimension must be ≥ 1, got \(inputDimension)")
        self.method = method
        self.bits = bits
        self.inputDimension = inputDimension
        self.preprocessing = preprocessing
        self.encoder = encoder
        self.metadata = metadata
    }

    /// Rows encoded per encoder call, bounding temporary memory for large inputs.
    public static let encodeChunkRows = 4096

    /// Pre-sign values U: [N, K] for features x: [N, D]. Validates the shape and that x is finite.
    public func project(_ x: Tensor<Float>) throws -> Tensor<Float> {
        try require(x.rank == 2 && x.cols == inputDimension,
                    "\(method.rawValue) model expects features of shape [N, \(inputDimension)], got \(x.shape)")
        try requireFinite(x)
        var out = [Float]()
        out.reserveCapacity(x.rows * bits)
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + HashModel.encodeChunkRows)
            let u = try encoder.forward(preprocessing.apply(x.rows(start..<end)), training: false)
            out.append(contentsOf: u.scalars)
            start = end
        }
        return Tensor(uncheckedShape: [x.rows, bits], scalars: out)
    }

    /// Packed codes sign(U) for features x: [N, D].
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
