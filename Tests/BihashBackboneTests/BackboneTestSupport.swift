import BihashBackbone
import BihashCore
import BihashIO
import Foundation
import _BihashTestSupport

// Shared fixtures of the backbone tests.

/// A complete, valid set of EfficientNet-Lite0 tensors with seeded random values (not the pretrained weights):
/// convolution weights N(0, 1/fan-in), BatchNorm γ ≈ 1, β, mean ≈ 0, var in [0.5, 1.5]. Enough to exercise
/// loading, validation, batching and threading without the weight file.
func syntheticWeights(seed: UInt64 = 7) -> [String: Tensor<Float>] {
    var rng = SeededGenerator(seed: seed)
    var weights: [String: Tensor<Float>] = [:]
    for (name, shape) in EfficientNetLite0.expectedShapes.sorted(by: { $0.key < $1.key }) {
        let count = shape.reduce(1, *)
        let values: [Float]
        if name.hasSuffix(".running_var") {
            values = Tensor<Float>.uniform(shape, low: 0.5, high: 1.5, using: &rng).scalars
        } else if name.hasSuffix("_bn0.weight") || name.hasSuffix("_bn1.weight") || name.hasSuffix("_bn2.weight") {
            values = Tensor<Float>.uniform(shape, low: 0.8, high: 1.2, using: &rng).scalars
        } else if shape.count >= 2 {
            let fanIn = count / shape[0]
            values = Tensor<Float>.normal(shape, mean: 0, std: Float(1 / Double(fanIn).squareRoot()), using: &rng).scalars
        } else {
            values = Tensor<Float>.normal(shape, mean: 0, std: 0.1, using: &rng).scalars
        }
        weights[name] = Tensor(uncheckedShape: shape, scalars: values)
    }
    return weights
}

/// Seeded images [n, side, side, 3] uniform in [−1, 1].
func randomImages(_ n: Int, side: Int, seed: UInt64) -> Tensor<Float> {
    var rng = SeededGenerator(seed: seed)
    return Tensor<Float>.uniform([n, side, side, 3], low: -1, high: 1, using: &rng)
}

/// The message of the BihashError `body` throws ("" if it throws something else or nothing).
func errorMessage(_ body: () throws -> Void) -> String {
    do { try body() } catch let e as BihashError { return e.message } catch { return "unexpected error \(error)" }
    return ""
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("bihash-backbone-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
