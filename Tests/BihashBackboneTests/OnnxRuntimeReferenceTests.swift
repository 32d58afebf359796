import BihashBackbone
import BihashCore
@testable import BihashData
import BihashIO
import Foundation
import Testing
import _BihashTestSupport

// The pretrained EfficientNet-Lite0 against onnxruntime running the same weights in the reference graph of
// tools/reference/backbone_onnx.py (built with onnx.helper, BatchNorm unfused, NCHW): the 1280-d features of 100
// Fashion-MNIST images at 96 px must agree to 1e-3, and scikit-learn's two sample photos must get the same
// ImageNet class at 224 px. Needs the weight file (tools/setup), Fashion-MNIST and onnxruntime.

enum ReferenceFixtures {
    static let weightsPath: String? = try? BackboneFile.defaultEfficientNetLite0Path()
    static let hasWeights = weightsPath.map { FileManager.default.fileExists(atPath: $0) } ?? false

    /// Output of a Python one-liner (nil if it fails).
    static func python(_ code: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", code]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let hasOnnxRuntime = python("import onnxruntime, onnx, safetensors, PIL") != nil
    /// scikit-learn's sample images directory (china.jpg, flower.jpg).
    static let sklearnImages: String? = python("import os, sklearn; print(os.path.join(os.path.dirname(sklearn.__file__), 'datasets', 'images'))")

    static var ready: Bool { hasWeights && hasOnnxRuntime }
    static let net: EfficientNetLite0? = ready ? try? BackboneFile.loadEfficientNetLite0() : nil
}

@Suite(.enabled(if: ReferenceFixtures.ready, "needs the backbone weights (run tools/setup) and onnxruntime (tools/requirements.txt)"))
struct OnnxRuntimeReferenceTests {
    @Test(.enabled(if: FashionMNIST.isInstalled, "needs `apt-get install dataset-fashion-mnist`"))
    func featuresMatchOnnxRuntimeOn100FashionMNISTImages() throws {
        let net = try #require(ReferenceFixtures.net)
        // The first 100 test images, 28×28 gray → 96×96 RGB through ImageDecoder's conversion (gray replicated,
        // area resize, /255), then x = 2v − 1.
        let idx = try IDXReader.read(path: FashionMNIST.directory + "/t10k-images-idx3-ubyte.gz")
        let side = 96, n = 100
        var rows: [[Float]] = []
        for i in 0..<n {
            let pixels = Array(idx.payload[(i * 784)..<((i + 1) * 784)])
            let image = DecodedImage(width: 28, height: 28, channels: 1, pixels: pixels)
            rows.append(try ImageDecoder.inputRow(image, width: side, height: side, channels: 3))
        }
        let images = try BackbonePreprocessing.images(fromUnitRows: rows, side: side)
        let features = try net.features(images)
        let logits = try net.logits(features: features)

        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("x.npy").path, refFeatures = dir.appendingPathComponent("f.npy").path
        let refLogits = dir.appendingPathComponent("l.npy").path
        try NPY.write(images, to: input)
        _ = try PythonReference.run("backbone_onnx.py", input: [
            "weights": ReferenceFixtures.weightsPath!, "input_npy": input, "features_npy": refFeatures, "logits_npy": refLogits])
        let expected = try NPY.read(path: refFeatures).floatTensor()
        #expect(expected.shape == [n, 1280])
        let maxFeatureError = zip(features.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
        print("backbone features vs onnxruntime: max abs error \(maxFeatureError) over \(n) images")
        #expect(maxFeatureError <= 1e-3)
        // Logits: the same up to float rounding, and the same top-1 class for every image.
        let expectedLogits = try NPY.read(path: refLogits).floatTensor()
        let maxLogitError = zip(logits.scalars, expectedLogits.scalars).map { abs($0 - $1) }.max() ?? .infinity
        print("backbone logits vs onnxruntime: max abs error \(maxLogitError)")
        #expect(maxLogitError <= 1e-2)
        #expect((0..<n).map { argmax(logits.row($0)) } == (0..<n).map { argmax(expectedLogits.row($0)) })
    }

    @Test(.enabled(if: ReferenceFixtures.sklearnImages != nil, "needs scikit-learn's sample images"))
    func sklearnPhotosGetTheSameImageNetClass() throws {
        let net = try #require(ReferenceFixtures.net)
        let paths = ["china.jpg", "flower.jpg"].map { ReferenceFixtures.sklearnImages! + "/" + $0 }
        let side = 224
        let rows = try paths.map { try ImageDecoder.inputRow(path: $0, width: side, height: side, channels: 3) }
        let images = try BackbonePreprocessing.images(fromUnitRows: rows, side: side)
        let logits = try net.logits(images)
        let top1 = (0..<paths.count).map { argmax(logits.row($0)) }

        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let refInput = dir.appendingPathComponent("x.npy").path
        let ref = try PythonReference.run("backbone_onnx.py", input: [
            "weights": ReferenceFixtures.weightsPath!, "images": paths, "size": side, "input_npy_out": refInput])
        let expected = (ref["top1"] as? [Int]) ?? []
        print("ImageNet top-1 of china.jpg, flower.jpg: bihash \(top1), onnxruntime \(expected)")
        #expect(top1 == expected)
        // The two preprocessing implementations (libjpeg-turbo + ImageDecoder, PIL + NumPy) agree closely too.
        let refImages = try NPY.read(path: refInput).floatTensor()
        let inputError = zip(images.scalars, refImages.scalars).map { abs($0 - $1) }.max() ?? .infinity
        print("preprocessed input vs the reference's: max abs difference \(inputError)")
        #expect(refImages.shape == images.shape && inputError <= 0.02)
    }
}

/// Index of the largest value (the first on ties).
func argmax(_ values: ArraySlice<Float>) -> Int {
    var best = values.startIndex
    for i in values.indices where values[i] > values[best] { best = i }
    return best - values.startIndex
}
