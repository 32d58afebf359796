import BihashCore

extension ImageDecoder {
    /// Converts image rows (row-major, channel-last, values in [0, 1] that are multiples of 1/255, as decoded
    /// 8-bit images and Fashion-MNIST's pixel/255 are) to another size and channel count with the same steps as
    /// `inputRow` (composite, channels, area resize, / 255), e.g. Fashion-MNIST's 28×28×1 rows to the 96×96×3
    /// input of an image backbone.
    /// - Parameters:
    ///   - x: [N, width · height · channels].
    ///   - from: the rows' layout; `to`: the wanted layout.
    /// - Throws: `BihashError.invalidArgument` for a shape that does not match `from` or a value outside [0, 1].
    public static func convertRows(_ x: Tensor<Float>, from: (width: Int, height: Int, channels: Int),
                                   to: (width: Int, height: Int, channels: Int)) throws -> Tensor<Float> {
        try require(from.width >= 1 && from.height >= 1 && [1, 3].contains(from.channels),
                    "image rows must be ≥ 1×1 with 1 or 3 channels, got \(from.width)×\(from.height)×\(from.channels)")
        let d = from.width * from.height * from.channels
        try require(x.rank == 2 && x.cols == d, "image rows of \(from.width)×\(from.height)×\(from.channels) need shape [N, \(d)], got \(x.shape)")
        let outD = to.width * to.height * to.channels
        var out = [Float]()
        out.reserveCapacity(x.rows * outD)
        for r in 0..<x.rows {
            var pixels = [UInt8](repeating: 0, count: d)
            for i in 0..<d {
                let v = x.scalars[r * d + i]
                guard v >= 0 && v <= 1 else {
                    throw BihashError.invalidArgument("image row \(r), value \(i) is \(v); image rows hold values in [0, 1]")
                }
                pixels[i] = UInt8((v * 255).rounded())
            }
            let image = DecodedImage(width: from.width, height: from.height, channels: from.channels, pixels: pixels)
            out += try inputRow(image, width: to.width, height: to.height, channels: to.channels)
        }
        return Tensor(uncheckedShape: [x.rows, outD], scalars: out)
    }
}

extension DecodedImage {
    /// An image from pixels the caller decoded (8-bit, row-major, channel-last), e.g. to convert with
    /// `ImageDecoder.inputRow` exactly as bihash converts files.
    /// - Throws: `BihashError.invalidArgument` unless channels is 1…4, the sizes are ≥ 1 and within the decoder's
    ///   limits, and `pixels.count` = width · height · channels.
    public init(pixels: [UInt8], width: Int, height: Int, channels: Int) throws {
        try require((1...4).contains(channels), "an image has 1 to 4 channels, got \(channels)")
        try require(width >= 1 && height >= 1 && width <= ImageDecoder.maxSide && height <= ImageDecoder.maxSide,
                    "image sides must be 1...\(ImageDecoder.maxSide), got \(width)×\(height)")
        try require(pixels.count == width * height * channels,
                    "a \(width)×\(height)×\(channels) image has \(width * height * channels) samples, got \(pixels.count)")
        self.init(width: width, height: height, channels: channels, pixels: pixels)
    }
}
