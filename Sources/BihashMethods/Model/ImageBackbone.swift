import BihashBackbone
import BihashCore

/// A frozen pretrained CNN in front of a model's hash head: image rows in, 1280-d features out.
///
/// Input rows are what `ImageDecoder.inputRow(…, width: S, height: S, channels: 3)` makes of an image file:
/// S·S·3 values in [0, 1], channel-last RGB (see `BackbonePreprocessing` for the whole convention). The backbone
/// maps them to x = 2·v − 1, runs the network in eval mode and returns its pooled features; the head then sees
/// those features as its input rows.
///
/// The original (unfolded) tensors are kept with the network: model files store them as they came, under the
/// PyTorch names, so a saved model reloads to the same network and the ONNX export folds them itself.
///
/// Thread safety: immutable; `features(rows:)` may run on several threads at once.
public final class ImageBackbone: @unchecked Sendable {
    /// The backbones bihash knows.
    public static let knownNames = ["efficientnet-lite0"]
    /// Image side used when none is given: 96 px (TARGETS.md's backbone rows; ~5× faster than 224).
    public static let defaultImageSize = 96

    /// The architecture's name, e.g. `efficientnet-lite0`.
    public let name: String
    /// S, the side of the square images the backbone sees.
    public let imageSize: Int
    /// The weights as loaded (PyTorch names, BatchNorm not folded).
    public let weights: [String: Tensor<Float>]
    /// The inference network (BatchNorm folded).
    public let network: EfficientNetLite0

    /// - Throws: `BihashError.invalidArgument` for an unknown name, a side outside the network's range, or the
    ///   network's own errors for missing or misshapen tensors.
    public init(name: String, weights: [String: Tensor<Float>], imageSize: Int = ImageBackbone.defaultImageSize) throws {
        try require(Self.knownNames.contains(name),
                    "unknown backbone '\(name)'; bihash has: \(Self.knownNames.joined(separator: ", "))")
        try require((EfficientNetLite0.minimumSide...1024).contains(imageSize),
                    "backbone image size must be \(EfficientNetLite0.minimumSide)...1024 pixels, got \(imageSize)")
        self.name = name
        self.imageSize = imageSize
        self.weights = weights.filter { !$0.key.hasSuffix(".num_batches_tracked") }
        self.network = try EfficientNetLite0(weights: self.weights)
    }

    /// Width of the features, 1280.
    public var featureDimension: Int { EfficientNetLite0.featureDimension }

    /// The image input of a model with this backbone: S × S × 3.
    public var imageInput: ImageInput {
        // S is validated in init, so this cannot fail.
        try! ImageInput(width: imageSize, height: imageSize, channels: 3)
    }

    /// Values per input row, S·S·3.
    public var inputDimension: Int { imageSize * imageSize * 3 }

    /// Images per network call: bounds the temporary [n, S, S, 3] tensor.
    public static let chunkRows = 256

    /// Features [N, 1280] of image rows [N, S·S·3] with values in [0, 1].
    /// - Parameter progress: called after each chunk with (rows done, rows in all), on the calling thread.
    /// - Throws: `BihashError.invalidArgument` for another row width or a value outside [0, 1] (NaN included).
    public func features(rows x: Tensor<Float>, progress: ((Int, Int) -> Void)? = nil) throws -> Tensor<Float> {
        let d = inputDimension, s = imageSize
        try require(x.rank == 2 && x.cols == d,
                    "\(name) backbone expects image rows of \(s)×\(s)×3 = \(d) values in [0, 1], got shape \(x.shape)")
        var out = [Float]()
        out.reserveCapacity(x.rows * featureDimension)
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + Self.chunkRows)
            let chunk = x.scalars[(start * d)..<(end * d)]
            if let i = chunk.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {  // i indexes x.scalars
                throw BihashError.invalidArgument("image row \(i / d), value \(i % d) is \(chunk[i]); backbone input rows hold values in [0, 1]")
            }
            let f = try network.features(try BackbonePreprocessing.images(fromUnitScalars: chunk, side: s))
            out.append(contentsOf: f.scalars)
            start = end
            progress?(start, x.rows)
        }
        return Tensor(uncheckedShape: [x.rows, featureDimension], scalars: out)
    }
}
