import BihashCore

/// The input convention of bihash's backbones (EfficientNet-Lite0), the same in Swift, in the ONNX export and in
/// the reference scripts:
///
/// 1. decode the image (PNG/JPEG) to 8-bit RGB (gray replicated, alpha composited on white);
/// 2. resize to S × S pixels with area averaging (OpenCV INTER_AREA when shrinking);
/// 3. scale each sample v = pixel / 255 into [0, 1];
/// 4. map to [−1, 1]: x = 2·v − 1 (TensorFlow's EfficientNet-Lite preprocessing, `(pixel − 127.5) / 127.5`
///    up to rounding).
///
/// Steps 1–3 are `BihashData.ImageDecoder.inputRow(path:width: S, height: S, channels: 3)`; step 4 is `images`
/// (`ImageBackbone.features(rows:)` of BihashMethods calls it too).
/// The network's input is a [N, S, S, 3] tensor, channel-last (NHWC), RGB; S = 224 is the training resolution,
/// S = 96 is bihash's fast setting; any S ≥ `EfficientNetLite0.minimumSide` works.
public enum BackbonePreprocessing {
    /// A [N, S, S, 3] network input from N rows of S·S·3 values in [0, 1] (channel-last RGB, as
    /// `ImageDecoder.inputRow` returns), mapped to x = 2·v − 1.
    /// - Throws: `BihashError.invalidArgument` if a row does not have S·S·3 values or S is not in
    ///   `EfficientNetLite0.minimumSide...EfficientNetLite0.maximumSide`.
    public static func images(fromUnitRows rows: [[Float]], side: Int) throws -> Tensor<Float> {
        try validateSide(side)
        let per = side * side * 3
        var scalars = [Float]()
        scalars.reserveCapacity(rows.count * per)
        for (i, row) in rows.enumerated() {
            try require(row.count == per, "image row \(i) has \(row.count) values, expected \(side)·\(side)·3 = \(per)")
            scalars.append(contentsOf: row)
        }
        return try images(fromUnitScalars: scalars[...], side: side)
    }

    /// A [N, S, S, 3] network input from N images of S·S·3 values in [0, 1] stored one after another (the
    /// scalars of an [N, S·S·3] row matrix), mapped to x = 2·v − 1. Values are not range-checked.
    /// - Throws: `BihashError.invalidArgument` if S is not in
    ///   `EfficientNetLite0.minimumSide...EfficientNetLite0.maximumSide` or the count is not a multiple of S·S·3.
    public static func images(fromUnitScalars values: ArraySlice<Float>, side: Int) throws -> Tensor<Float> {
        try validateSide(side)
        let per = side * side * 3
        try require(values.count % per == 0, "\(values.count) values are not whole images of \(side)·\(side)·3 = \(per)")
        return Tensor(uncheckedShape: [values.count / per, side, side, 3], scalars: values.map { 2 * $0 - 1 })
    }

    private static func validateSide(_ side: Int) throws {
        try require(side >= EfficientNetLite0.minimumSide && side <= EfficientNetLite0.maximumSide,
                    "backbone image side must be \(EfficientNetLite0.minimumSide)...\(EfficientNetLite0.maximumSide), got \(side)")
    }
}
