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

/// Throws `BihashError.numerical` naming the first non-finite element of a feature matrix.
public func requireFinite(_ x: Tensor<Float>) throws {
    if let i = x.scalars.firstIndex(where: { !$0.isFinite }) {
        let c = max(1, x.cols)
        throw BihashError.numerical("features contain \(x.scalars[i]) at row \(i / c), column \(i % c); all values must be finite")
    }
}
