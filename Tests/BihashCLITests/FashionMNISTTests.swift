import Foundation
import Testing

/// Fashion-MNIST runs (when Debian's dataset-fashion-mnist is installed) and image-directory encoding.
@Suite(.enabled(if: Fixtures.hasFashionMNIST, "dataset-fashion-mnist is not installed"))
struct FashionMNISTTests {
    /// An LSH model trained on the protocol's train part (pixels / 255, 28×28 grayscale), shared by the tests.
    static let model: Result<URL, Error> = Result(catching: {
        let dir = try Fixtures.directory("fashion")
        let model = dir.appendingPathComponent("lsh32.safetensors")
        let result = try CLI.run("bihash", ["train", "--method", "lsh", "--bits", "32", "--input", "fashion-mnist",
                                            "--seed", "0", "--quiet", "-o", model.path])
        guard result.status == 0 else { throw TrainingFailed(stderr: result.stderr) }
        return model
    })

    struct TrainingFailed: Error {
        let stderr: String
    }

    @Test func evalEncodeIndexSearch() throws {
        let model = try Self.model.get()
        let dir = model.deletingLastPathComponent()
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

        let eval = try CLI.run("bihash", ["eval", "--model", model.path, "--protocol", "fashion-mnist", "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let report = try JSONSerialization.jsonObject(with: eval.stdout) as? [String: Any]
        let mapAll = report?["map_all"] as? Double ?? -1
        #expect(mapAll > 0.1 && mapAll < 1, "mAP@All \(mapAll)")
        #expect(report?["queries"] as? Int == 10_000 && report?["database"] as? Int == 60_000)
        #expect((report?["map_at_1000"] as? Double ?? 0) >= mapAll)

        let encode = try CLI.run("bihash", ["encode", "--model", model.path, "-o", path("q.bin"), "fashion-mnist:query"])
        #expect(encode.status == 0, "\(encode.stderr)")
        let info = try CLI.run("bihash", ["info", path("q.bin")])
        #expect(info.output.contains("count        10000") && info.output.contains("fashion-mnist:query#0"))
        #expect(try CLI.run("bihash", ["index", "build", path("q.bin"), "-o", path("q.bhi")]).status == 0)
        let search = try CLI.run("bihash", ["search", "--index", path("q.bhi"), "--queries", path("q.bin"), "-k", "2"])
        #expect(search.status == 0)
        #expect(search.output.hasPrefix("fashion-mnist:query#0\t1\tfashion-mnist:query#"))
        #expect(search.output.split(separator: "\n").count == 20_000)

        // An IDX file is a feature matrix too (values as stored), its rows named path#row.
        let idx = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
        #expect(try CLI.run("bihash", ["encode", "--model", model.path, "-o", path("idx.bin"), idx]).status == 0)
        #expect(try CLI.run("bihash", ["info", path("idx.bin")]).output.contains("\(idx)#0"))
    }

    /// A directory of mixed PNG and JPEG files (sizes, grayscale, RGBA, palette, 16-bit, progressive JPEG) plus a
    /// text file and a truncated PNG: the images are encoded, the two bad files reported by name and skipped;
    /// with --strict the command fails on the first of them.
    @Test(.enabled(if: Fixtures.pythonHas("PIL"), "Pillow is not installed (tools/requirements.txt)"))
    func imageDirectory() throws {
        let model = try Self.model.get()
        let dir = try Fixtures.directory("images")
        defer { try? FileManager.default.removeItem(at: dir) }
        let photos = dir.appendingPathComponent("photos").path
        let script = """
            import os, numpy
            from PIL import Image
            d = '\(photos)'
            os.makedirs(d + '/sub')
            rng = numpy.random.default_rng(0)
            def img(h, w, c):
                return rng.integers(0, 256, size=(h, w, c) if c else (h, w), dtype=numpy.uint8)
            # Modes follow from the arrays: L (2-D uint8), RGB, RGBA, I;16 (2-D uint16).
            Image.fromarray(img(28, 28, 0)).save(d + '/a_gray.png')
            Image.fromarray(img(30, 40, 4)).save(d + '/b_rgba.png')
            Image.fromarray(img(64, 64, 3)).save(d + '/c_rgb.jpg', quality=90)
            Image.fromarray(img(70, 50, 0)).save(d + '/d_gray_progressive.jpg', progressive=True)
            Image.fromarray(img(48, 33, 3)).save(d + '/e_rgb_progressive.jpeg', progressive=True)
            Image.fromarray(img(20, 20, 3)).convert('P').save(d + '/sub/f_palette.png')
            Image.fromarray((img(31, 29, 0).astype(numpy.uint16) * 257)).save(d + '/g_16bit.png')
            open(d + '/notes.txt', 'w').write('not an image\\n')
            data = open(d + '/a_gray.png', 'rb').read()
            open(d + '/broken.png', 'wb').write(data[:40])
            print('ok')
            """
        let made = try Fixtures.python(script)
        try #require(made.output == "ok\n", "image generation failed")

        let codes = dir.appendingPathComponent("codes.bin").path
        let encode = try CLI.run("bihash", ["encode", "--model", model.path, "-o", codes, photos])
        #expect(encode.status == 0, "\(encode.stderr)")
        #expect(encode.stderr.contains("notes.txt") && encode.stderr.contains("broken.png"), "\(encode.stderr)")
        #expect(!encode.stderr.contains("a_gray.png") && !encode.stderr.contains("g_16bit.png"), "\(encode.stderr)")
        let info = try CLI.run("bihash", ["info", codes])
        #expect(info.output.contains("count        7"), "\(info.output)")
        #expect(info.output.contains("photos/a_gray.png"))

        let strict = try CLI.run("bihash", ["encode", "--model", model.path, "--strict", "-o", codes + "2", photos])
        #expect(strict.status == 1)
        #expect(strict.stderr.hasPrefix("bihash: ") && strict.stderr.contains("broken.png"), "\(strict.stderr)")
        #expect(!FileManager.default.fileExists(atPath: codes + "2"))
    }
}
