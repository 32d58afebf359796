import Foundation
import Testing
import BihashCore
import BihashMethods
import BihashData
import _BihashTestSupport
@testable import BihashIO

/// ONNX export with the `image` input: onnxruntime, fed decoded pixels of any size, must give the codes bihash
/// gives for the same pixels through `ImageDecoder.inputRow` (area resize, / 255) and `HashModel.encode`.
@Suite struct ONNXImageInputTests {
    func check(_ model: HashModel, sizes: [(Int, Int)], seed: UInt64) throws {
        let shape = try #require(model.imageInput)
        let dir = NSTemporaryDirectory() + "bihash-onnx-image-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let onnxPath = dir + "/model.onnx"
        try ONNXExport.export(model, to: onnxPath, includePresign: true, imageInput: true)

        var rng = SeededGenerator(seed: seed)
        var entries: [[String: Any]] = [], rows: [Float] = []
        for (i, (h, w)) in sizes.enumerated() {
            let pixels = (0..<(h * w * shape.channels)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let path = dir + "/image\(i).raw"
            try Data(pixels).write(to: URL(fileURLWithPath: path))
            entries.append(["path": path, "height": h, "width": w, "channels": shape.channels])
            rows += try ImageDecoder.inputRow(DecodedImage(pixels: pixels, width: w, height: h, channels: shape.channels),
                                              width: shape.width, height: shape.height, channels: shape.channels)
        }
        let x = Tensor(uncheckedShape: [sizes.count, shape.dimension], scalars: rows)
        let u = try model.project(x)
        let codes = try model.encode(x)
        let out = try PythonReference.run("io_onnx_image_check.py", input: ["model": onnxPath, "images": entries])
        let hexCodes = (out["codes"] as? [String]) ?? []
        let presign = (out["presign"] as? [Any]) ?? []
        #expect(hexCodes.count == sizes.count && presign.count == sizes.count)
        for i in 0..<min(hexCodes.count, presign.count) {
            let mine = codes.code(i).map { String(format: "%02x", $0) }.joined()
            let theirs = PythonReference.doubles(presign[i])
            let err = zip(u.row(i), theirs).map { abs(Double($0) - $1) }.max() ?? 1
            #expect(err < 1e-4, "image \(i) (\(sizes[i])): presign max abs diff \(err)")
            #expect(hexCodes[i] == mine, "image \(i) (\(sizes[i])) codes differ")
        }
        #expect(out["batch_consistent"] as? Bool == true)
        let inputs = (out["inputs"] as? [[Any]]) ?? []
        #expect(inputs.first?.first as? String == "image")
    }

    @Test func rgbFeatureModelResizesInTheGraph() throws {
        var rng = SeededGenerator(seed: 5)
        let shape = try ImageInput(width: 12, height: 10, channels: 3)
        let x = Tensor(uncheckedShape: [200, shape.dimension], scalars: (0..<(200 * shape.dimension)).map { _ in Float.random(in: 0...1, using: &rng) })
        var c = TrainingConfiguration(method: .bihalf, bits: 24)
        c.epochs = 2
        let m = try Trainer.train(features: x, configuration: c).model
        m.imageInput = shape
        // Same size, shrink by non-integer ratios, enlarge, and a large image.
        try check(m, sizes: [(10, 12), (37, 50), (5, 7), (10, 12), (120, 97)], seed: 9)
    }

    @Test func greyAutoencoderModelWithMinMaxPreprocessing() throws {
        var rng = SeededGenerator(seed: 6)
        let shape = try ImageInput(width: 28, height: 28, channels: 1)
        let x = Tensor(uncheckedShape: [300, 784], scalars: (0..<(300 * 784)).map { _ in Float.random(in: 0...1, using: &rng) })
        var c = TrainingConfiguration(method: .bihalf, bits: 16, recipe: .autoencoder)
        c.epochs = 1
        let m = try Trainer.train(features: x, configuration: c).model
        m.imageInput = shape
        try check(m, sizes: [(28, 28), (64, 48), (20, 31)], seed: 10)
    }

    @Test func imageInputNeedsAnImageModel() throws {
        var rng = SeededGenerator(seed: 7)
        let x = Tensor(uncheckedShape: [40, 12], scalars: (0..<480).map { _ in Float.random(in: -1...1, using: &rng) })
        let m = try Trainer.train(features: x, configuration: TrainingConfiguration(method: .lsh, bits: 8)).model
        #expect(throws: BihashError.self) { try ONNXExport.serialize(m, imageInput: true) }
    }
}
