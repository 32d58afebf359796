import Foundation
import Testing
import BihashCore
import BihashNN
import BihashMethods
import BihashData
import _BihashTestSupport
@testable import BihashIO

/// Models with an image backbone (EfficientNet-Lite0 in front of a hash head): model-file round trip and
/// validation, fingerprint, and the ONNX export (image rows or an image tensor in → codes out) against
/// onnxruntime. Needs the backbone weights that tools/setup converts (BackboneFile).
@Suite(.serialized) struct BackboneModelTests {
    /// The backbone at 32 px (the smallest side, to keep the debug-build tests fast) and a bihalf head trained
    /// on random features, put together.
    static let model: Result<HashModel, Error> = Result {
        let weights = try BackboneFile.loadEfficientNetLite0Weights()
        let backbone = try ImageBackbone(name: "efficientnet-lite0", weights: weights, imageSize: 32)
        var rng = SeededGenerator(seed: 4)
        let f = Tensor(uncheckedShape: [64, 1280], scalars: (0..<(64 * 1280)).map { _ in Float.random(in: 0...3, using: &rng) })
        var c = TrainingConfiguration(method: .bihalf, bits: 20)
        c.epochs = 1
        let head = try Trainer.train(features: f, configuration: c).model
        return try HashModel(head: head, backbone: backbone)
    }

    /// `n` random image rows for the model, values multiples of 1/255 in [0, 1].
    static func rows(_ n: Int, seed: UInt64) throws -> (Tensor<Float>, [[UInt8]]) {
        let m = try model.get()
        var rng = SeededGenerator(seed: seed)
        let pixels = (0..<n).map { _ in (0..<m.inputDimension).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        return (Tensor(uncheckedShape: [n, m.inputDimension], scalars: pixels.flatMap { $0.map { Float($0) / 255 } }), pixels)
    }

    @Test func roundTripsThroughTheModelFile() throws {
        let m = try Self.model.get()
        #expect(m.inputDimension == 32 * 32 * 3 && m.headInputDimension == 1280)
        #expect(m.imageInput == (try ImageInput(width: 32, height: 32, channels: 3)))
        let file = try ModelFile.safetensors(for: m)
        #expect(file.metadata["bihash.backbone"] == #"{"name":"efficientnet-lite0","image_size":32}"#)
        #expect(file.tensors["backbone._conv_stem.weight"]?.shape == [32, 3, 3, 3])
        let loaded = try ModelFile.load(bytes: file.serialized())
        #expect(loaded.backbone?.imageSize == 32)
        let (x, _) = try Self.rows(6, seed: 1)
        #expect(try loaded.encode(x) == m.encode(x))
        #expect(try ModelFile.fingerprint(loaded) == ModelFile.fingerprint(m))
        // The backbone is part of the fingerprint.
        let head = try HashModel(method: m.method, bits: m.bits, inputDimension: 1280, encoder: m.encoder)
        #expect(try ModelFile.fingerprint(head) != ModelFile.fingerprint(m))
    }

    /// features(rows:) maps rows to x = 2·v − 1 for the network and rejects values outside [0, 1], naming row and value.
    @Test func backboneFeaturesCheckAndMapTheRows() throws {
        let backbone = try #require(try Self.model.get().backbone)
        let (x, _) = try Self.rows(2, seed: 3)
        let expected = try backbone.network.features(Tensor(uncheckedShape: [2, 32, 32, 3], scalars: x.scalars.map { 2 * $0 - 1 }))
        #expect(try backbone.features(rows: x) == expected)
        for bad in [Float(1.5), -0.25, .nan] {
            var y = x
            y.scalars[x.cols + 7] = bad
            do {
                _ = try backbone.features(rows: y)
                Issue.record("accepted \(bad)")
            } catch let e as BihashError {
                #expect(e == .invalidArgument("image row 1, value 7 is \(bad); backbone input rows hold values in [0, 1]"))
            }
        }
    }

    @Test func rejectsInconsistentBackboneFiles() throws {
        let m = try Self.model.get()
        var file = try ModelFile.safetensors(for: m)
        file.metadata["bihash.fingerprint"] = nil
        func rejects(_ f: SafetensorsFile, _ fragment: String) throws {
            let bytes = try f.serialized()
            #expect {
                _ = try ModelFile.load(bytes: bytes)
            } throws: { error in
                guard case BihashError.invalidFormat(let message) = error else { return false }
                return message.contains(fragment)
            }
        }
        var fewer = file.tensors
        fewer["backbone._blocks.3._bn1.running_var"] = nil
        try rejects(try SafetensorsFile(tensors: fewer, metadata: file.metadata), "_blocks.3._bn1.running_var")
        var unknown = file
        unknown.metadata["bihash.backbone"] = #"{"name":"resnet50","image_size":32}"#
        try rejects(unknown, "unknown backbone")
        var noBackbone = file
        noBackbone.metadata["bihash.backbone"] = nil
        try rejects(noBackbone, "takes 1280 inputs but receives 3072")
        var wrongInput = file
        wrongInput.metadata["bihash.input"] = #"{"dim":3072,"preprocess":"none"}"#
        try rejects(wrongInput, "image input")
    }

    @Test func onnxExportMatchesBihashWithRowsAndImages() throws {
        let m = try Self.model.get()
        let dir = NSTemporaryDirectory() + "bihash-backbone-onnx-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (x, pixels) = try Self.rows(8, seed: 2)
        let u = try m.project(x)
        let codes = try m.encode(x)

        // Image rows in (`features` [N, S·S·3]).
        let rowsPath = dir + "/rows.onnx", featuresPath = dir + "/x.f32", presignPath = dir + "/u.f32"
        try ONNXExport.export(m, to: rowsPath, includePresign: true)
        try Data(x.scalars.withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: featuresPath))
        try Data(u.scalars.withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: presignPath))
        let out = try PythonReference.run("io_onnx_check.py", input: [
            "models": [["path": rowsPath, "presign": presignPath]], "features": featuresPath, "rows": 8, "cols": x.cols])
        let result = try #require((out["results"] as? [[String: Any]])?.first)
        let diff = (result["presign_max_abs_diff"] as? Double) ?? 1
        #expect(diff < 1e-3, "presign max abs diff \(diff)")
        let hex = codes.bytes.map { String(format: "%02x", $0) }.joined()
        #expect(result["codes"] as? String == hex)

        // An image tensor in, resized in the graph: the same pixels at 32×32 and enlarged.
        let imagePath = dir + "/image.onnx"
        try ONNXExport.export(m, to: imagePath, includePresign: true, imageInput: true)
        var entries: [[String: Any]] = []
        for (i, p) in pixels.enumerated() {
            let path = dir + "/img\(i).raw"
            try Data(p).write(to: URL(fileURLWithPath: path))
            entries.append(["path": path, "height": 32, "width": 32, "channels": 3])
        }
        let imageOut = try PythonReference.run("io_onnx_image_check.py", input: ["model": imagePath, "images": entries])
        let imageCodes = (imageOut["codes"] as? [String]) ?? []
        #expect(imageCodes.count == 8)
        for i in 0..<min(8, imageCodes.count) {
            #expect(imageCodes[i] == codes.code(i).map { String(format: "%02x", $0) }.joined(), "image \(i)")
        }
        #expect(imageOut["batch_consistent"] as? Bool == true)
    }
}
