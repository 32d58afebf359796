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
