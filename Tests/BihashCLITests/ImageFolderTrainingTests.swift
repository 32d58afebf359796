import Foundation
import Testing

/// `bihash train --input DIR`: a directory of class subdirectories trains a supervised model from the folder
/// labels; the model then encodes the same directory.
@Suite(.enabled(if: Fixtures.pythonHas("PIL"), "Pillow is not installed (tools/requirements.txt)"))
struct ImageFolderTrainingTests {
    /// Three classes of 12 noisy images each, told apart by their dominant colour (red, green, blue).
    static func makeFolder(_ root: URL, flat: Bool = false) throws {
        let script = """
            import os, numpy
            from PIL import Image
            root = '\(root.path)'
            rng = numpy.random.default_rng(0)
            for c, name in enumerate(['blue', 'green', 'red']):
                d = root if \(flat ? "True" : "False") else os.path.join(root, name)
                os.makedirs(d, exist_ok=True)
                for i in range(12):
                    img = rng.integers(0, 90, size=(20, 24, 3), dtype=numpy.uint8)
                    img[:, :, 2 - c] += 160
                    Image.fromarray(img).save(os.path.join(d, f'{name}_{i:02d}.png'))
            print('ok')
            """
        let made = try Fixtures.python(script)
        try #require(made.output == "ok\n", "image generation failed")
    }

    @Test func trainsFromClassFoldersAndEncodesThem() throws {
        let dir = try Fixtures.directory("folder-train")
        defer { try? FileManager.default.removeItem(at: dir) }
        let photos = dir.appendingPathComponent("photos")
        try Self.makeFolder(photos)
        let model = dir.appendingPathComponent("shc.safetensors").path
        let train = try CLI.run("bihash", ["train", "--method", "shc", "--bits", "16", "--input", photos.path,
                                           "--image-size", "8", "--channels", "3", "--epochs", "3", "--quiet", "-o", model])
        #expect(train.status == 0, "\(train.stderr)")
        let info = try CLI.run("bihash", ["info", model])
        #expect(info.output.contains("8") && info.output.contains("192"), "\(info.output)")  // 8×8×3 = 192 inputs

        let codes = dir.appendingPathComponent("codes.bin").path
        let encode = try CLI.run("bihash", ["encode", "--model", model, "-o", codes, photos.path])
        #expect(encode.status == 0, "\(encode.stderr)")
        #expect(try CLI.run("bihash", ["info", codes]).output.contains("count        36"))

        // Unsupervised methods take the same folder (labels unused).
        let bihalf = try CLI.run("bihash", ["train", "--method", "bihalf", "--bits", "8", "--input", photos.path,
                                            "--image-size", "8", "--epochs", "2", "--quiet", "-o", model + ".bh"])
        #expect(bihalf.status == 0, "\(bihalf.stderr)")
    }

    @Test func supervisedTrainingOnAFlatFolderSaysLabelsAreMissing() throws {
        let dir = try Fixtures.directory("folder-flat")
        defer { try? FileManager.default.removeItem(at: dir) }
        let photos = dir.appendingPathComponent("flat")
        try Self.makeFolder(photos, flat: true)
        let out = dir.appendingPathComponent("m.safetensors").path
        let train = try CLI.run("bihash", ["train", "--method", "shc", "--bits", "16", "--input", photos.path,
                                           "--image-size", "8", "--quiet", "-o", out])
        #expect(train.status == 1)
        #expect(train.stderr.hasPrefix("bihash: ") && train.stderr.contains("label"), "\(train.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let badSize = try CLI.run("bihash", ["train", "--method", "bihalf", "--bits", "8", "--input", photos.path,
                                             "--image-size", "0", "--quiet", "-o", out])
        #expect(badSize.status == 1 && badSize.stderr.contains("1...16384"), "\(badSize.stderr)")
    }
}

/// `bihash train --backbone efficientnet-lite0`: the head trains on the backbone's features (cached on disk), the
/// model file carries the backbone, and the model encodes image files and, through the library's conversion,
/// images of another shape.
@Suite(.enabled(if: Fixtures.pythonHas("PIL"), "Pillow is not installed (tools/requirements.txt)"))
struct BackboneTrainingTests {
    @Test func trainsAHeadBehindEfficientNetLite0AndEncodesImages() throws {
        let dir = try Fixtures.directory("backbone-train")
        defer { try? FileManager.default.removeItem(at: dir) }
        let photos = dir.appendingPathComponent("photos")
        try ImageFolderTrainingTests.makeFolder(photos)
        let cache = dir.appendingPathComponent("cache").path
        let model = dir.appendingPathComponent("bb.safetensors").path
        let args = ["train", "--method", "bihalf", "--bits", "16", "--input", photos.path, "--backbone", "efficientnet-lite0",
                    "--image-size", "32", "--epochs", "2", "--feature-cache", cache, "--quiet", "-o", model]
        let train = try CLI.run("bihash", args)
        #expect(train.status == 0, "\(train.stderr)")
        let cached = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        #expect(cached.count == 1 && cached.first?.hasPrefix("efficientnet-lite0-32-") == true, "\(cached)")
        // A second head on the same images reuses the cached features (same file, nothing added).
        let again = try CLI.run("bihash", args.map { $0 == model ? model + ".2" : $0 })
        #expect(again.status == 0 && ((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []) == cached)

        let info = try CLI.run("bihash", ["info", model])
        #expect(info.output.contains("efficientnet-lite0"), "\(info.output)")
        let codes = dir.appendingPathComponent("codes.bin").path
        let encode = try CLI.run("bihash", ["encode", "--model", model, "-o", codes, photos.path])
        #expect(encode.status == 0, "\(encode.stderr)")
        #expect(try CLI.run("bihash", ["info", codes]).output.contains("count        36"))

        let onnx = dir.appendingPathComponent("bb.onnx").path
        let export = try CLI.run("bihash-export", ["--model", model, "--onnx", onnx, "--image-input"])
        #expect(export.status == 0 && FileManager.default.fileExists(atPath: onnx), "\(export.stderr)")
    }

    @Test func backboneErrorsAreClear() throws {
        let dir = try Fixtures.directory("backbone-errors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let photos = dir.appendingPathComponent("photos")
        try ImageFolderTrainingTests.makeFolder(photos)
        let out = dir.appendingPathComponent("m.safetensors").path
        let unknown = try CLI.run("bihash", ["train", "--method", "bihalf", "--bits", "8", "--input", photos.path,
                                             "--backbone", "resnet50", "--quiet", "-o", out])
        #expect(unknown.status == 1 && unknown.stderr.contains("unknown backbone 'resnet50'"), "\(unknown.stderr)")
        let missing = try CLI.run("bihash", ["train", "--method", "bihalf", "--bits", "8", "--input", photos.path,
                                             "--backbone", "efficientnet-lite0", "--backbone-weights", dir.path + "/none.safetensors",
                                             "--quiet", "-o", out])
        #expect(missing.status == 1 && missing.stderr.contains("tools/setup"), "\(missing.stderr)")
        let small = try CLI.run("bihash", ["train", "--method", "bihalf", "--bits", "8", "--input", photos.path,
                                           "--backbone", "efficientnet-lite0", "--image-size", "16", "--quiet", "-o", out])
        #expect(small.status == 1 && small.stderr.contains("32...1024"), "\(small.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
