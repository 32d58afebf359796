import Foundation
import Testing

/// End-to-end runs of the built `bihash` and `bihash-export` executables on small generated data.
@Suite struct CLITests {
    /// Runs `bihash` and expects success, returning its stdout.
    @discardableResult
    func ok(_ arguments: [String], tool: String = "bihash", in directory: URL? = nil) throws -> CLI.Result {
        let result = try CLI.run(tool, arguments, in: directory)
        #expect(result.status == 0, "\(tool) \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        return result
    }

    /// Runs `bihash` and expects a clean failure: exit status `status` (or any non-zero), a message, no crash.
    @discardableResult
    func fails(_ arguments: [String], tool: String = "bihash", status: Int32? = nil, mentioning text: String? = nil,
               sourceLocation: SourceLocation = #_sourceLocation) throws -> CLI.Result {
        let result = try CLI.run(tool, arguments)
        #expect(result.status != 0, "\(arguments) should fail", sourceLocation: sourceLocation)
        if let status { #expect(result.status == status, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation) }
        // A crash (trap, signal) shows as a status >= 128 or a stack trace.
        #expect(result.status < 128, "\(arguments) crashed: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(!result.stderr.contains("Stack dump") && !result.stderr.contains("Fatal error"),
                sourceLocation: sourceLocation)
        #expect(!result.stderr.isEmpty, "\(arguments) failed silently", sourceLocation: sourceLocation)
        if result.status == 1 {
            #expect(result.stderr.hasPrefix("bihash: "), "\(result.stderr)", sourceLocation: sourceLocation)
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        }
        if let text { #expect(result.stderr.contains(text), "\(result.stderr)", sourceLocation: sourceLocation) }
        return result
    }

    @Test func versionMatchesHeader() throws {
        let result = try ok(["--version"])
        #expect(result.output.hasPrefix("bihash 0.1.0"))
    }

    @Test func featuresPipeline() throws {
        let dir = try Fixtures.directory("pipeline")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Fixtures.clusters(rows: 300, dim: 24, classes: 3, in: dir)
        let x = data.features.path
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

        try ok(["train", "--method", "lsh", "--bits", "32", "--input", x, "--seed", "1", "--quiet", "-o", path("lsh.safetensors")])
        try ok(["encode", "--model", path("lsh.safetensors"), "-o", path("codes.bin"), x])
        // Codes to stdout are the same bytes as the file.
        let piped = try ok(["encode", "--model", path("lsh.safetensors"), x])
        #expect(piped.stdout == (try Data(contentsOf: URL(fileURLWithPath: path("codes.bin")))))

        try ok(["index", "build", path("codes.bin"), "-o", path("index.bhi")])
        #expect(FileManager.default.fileExists(atPath: path("index.bhi.names")))
        let search = try ok(["search", "--index", path("index.bhi"), "--queries", path("codes.bin"), "-k", "5"])
        let lines = search.output.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(lines.count == 300 * 5)
        #expect(lines.allSatisfy { $0.count == 4 })
        // Every query's own row is among its distance-0 neighbours; the first hit is at distance 0.
        #expect(lines[0][0] == "\(x)#0" && lines[0][1] == "1" && lines[0][3] == "0")
        #expect(lines.filter { $0[0] == "\(x)#7" }.contains { $0[2] == "\(x)#7" && $0[3] == "0" })

        let json = try ok(["search", "--index", path("index.bhi"), "--queries", path("codes.bin"), "-k", "3", "--json"])
        let parsed = try JSONSerialization.jsonObject(with: json.stdout) as? [[String: Any]]
        #expect(parsed?.count == 300)
        #expect((parsed?.first?["results"] as? [[String: Any]])?.count == 3)
        // k > N lists every item once per query.
        let all = try ok(["search", "--index", path("index.bhi"), "--queries", path("codes.bin"), "-k", "1000"])
        #expect(all.output.split(separator: "\n").count == 300 * 300)
        let radius = try ok(["search", "--index", path("index.bhi"), "--queries", path("codes.bin"), "--radius", "0"])
        #expect(radius.output.split(separator: "\n").allSatisfy { $0.hasSuffix("\t0") })

        // .npy codes: readable by NumPy, and indexable with --bits.
        try ok(["encode", "--model", path("lsh.safetensors"), "--format", "npy", "-o", path("codes.npy"), x])
        #expect(FileManager.default.fileExists(atPath: path("codes.npy.names")))
        if Fixtures.pythonHas("numpy") {
            let shape = try Fixtures.python("import numpy; a = numpy.load('\(path("codes.npy"))'); print(a.dtype, a.shape)")
            #expect(shape.output == "uint8 (300, 4)\n")
        }
        try ok(["index", "build", path("codes.npy"), "--bits", "32", "-o", path("index2.bhi")])

        // Supervised training with labels; info on every kind of file.
        try ok(["train", "--method", "bihalf", "--bits", "16", "--input", x, "--labels", data.labels.path,
                "--epochs", "2", "--batch-size", "64", "--lr", "0.001", "--seed", "3", "--gamma", "3", "--quiet",
                "-o", path("bihalf.safetensors")])
        let modelInfo = try ok(["info", path("bihalf.safetensors")])
        #expect(modelInfo.output.contains("model") && modelInfo.output.contains("bihalf")
                && modelInfo.output.contains("fingerprint"))
        #expect(try ok(["info", path("codes.bin")]).output.contains("count        300"))
        #expect(try ok(["info", path("index.bhi")]).output.contains("count  300"))
        #expect(try ok(["info", x]).output.contains("(300, 24)"))

        // Export: ONNX (checked by the onnx package when installed) and a re-saved weights file.
        try ok(["--model", path("bihalf.safetensors"), "--onnx", path("m.onnx"), "--float-output",
                "--weights", path("copy.safetensors")], tool: "bihash-export")
        #expect(FileManager.default.fileExists(atPath: path("m.onnx")))
        #expect(try ok(["info", path("copy.safetensors")]).output.contains("bihalf"))
        if Fixtures.pythonHas("onnx") {
            let check = try Fixtures.python(
                "import onnx; m = onnx.load('\(path("m.onnx"))'); onnx.checker.check_model(m, full_check=True); "
                    + "print(sorted(o.name for o in m.graph.output))")
            #expect(check.status == 0)
            #expect(check.output == "['codes', 'presign']\n")
        }
    }

    /// `bihash-export --onnx` run in onnxruntime gives the bytes of `bihash encode --format npy` (issue 5), for a
    /// trained bi-half model, LSH and SDC (issue 6: `--method sdc --beta-a --beta-b`).
    @Test(.enabled(if: Fixtures.pythonHas("onnxruntime"), "onnxruntime is not installed (tools/requirements.txt)"))
    func onnxMatchesEncode() throws {
        let dir = try Fixtures.directory("onnx")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Fixtures.clusters(rows: 200, dim: 20, classes: 4, in: dir)
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        for method in ["bihalf", "lsh", "sdc"] {
            let extra = method == "sdc" ? ["--beta-a", "2", "--beta-b", "3"] : []
            try ok(["train", "--method", method, "--bits", "12", "--input", data.features.path, "--epochs", "2",
                    "--quiet", "-o", path("\(method).safetensors")] + extra)
            try ok(["encode", "--model", path("\(method).safetensors"), "--format", "npy", "-o", path("\(method).npy"),
                    data.features.path])
            try ok(["--model", path("\(method).safetensors"), "--onnx", path("\(method).onnx"), "--float-output"],
                   tool: "bihash-export")
            let compare = try Fixtures.python("""
                import numpy, onnxruntime
                s = onnxruntime.InferenceSession('\(path("\(method).onnx"))', providers=['CPUExecutionProvider'])
                codes, presign = s.run(['codes', 'presign'], {'features': numpy.load('\(data.features.path)')})
                expected = numpy.load('\(path("\(method).npy"))')
                differ = numpy.unpackbits(codes, axis=1)[:, :12] != numpy.unpackbits(expected, axis=1)[:, :12]
                print('ok' if codes.dtype == numpy.uint8 and codes.shape == expected.shape
                      and numpy.all(numpy.abs(presign[differ]) <= 1e-5) else 'differ %d' % differ.sum())
                """)
            #expect(compare.output == "ok\n", "\(method): \(compare.output)")
        }
    }

    /// Corrupt weights files are rejected with a message by `bihash info`, `encode` and `bihash-export` (issue 5).
    @Test func corruptWeightsFiles() throws {
        let dir = try Fixtures.directory("corrupt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Fixtures.clusters(rows: 30, dim: 8, classes: 2, in: dir)
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        try ok(["train", "--method", "lsh", "--bits", "16", "--input", data.features.path, "--quiet",
                "-o", path("m.safetensors")])
        let good = try Data(contentsOf: URL(fileURLWithPath: path("m.safetensors")))
        let headerLength = Int(good.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var badJSON = good
        badJSON[8] = UInt8(ascii: "[")   // "[\"name\":{…}" is not JSON
        let files: [String: Data] = [
            "truncated": good.prefix(good.count - 5),
            "header-only": good.prefix(8 + headerLength),
            "huge-header": Data(repeating: 0xFF, count: 8) + good.dropFirst(8),
            "bad-json": badJSON,
            "empty": Data(),
        ]
        for (name, bytes) in files {
            try bytes.write(to: URL(fileURLWithPath: path(name)))
            try fails(["info", path(name)], status: 1)
            try fails(["encode", "--model", path(name), data.features.path], status: 1, mentioning: name)
            try fails(["--model", path(name), "--onnx", path("x.onnx")], tool: "bihash-export", status: 1,
                      mentioning: name)
        }
    }

    @Test func errorsAreOneLineMessages() throws {
        let dir = try Fixtures.directory("errors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Fixtures.clusters(rows: 40, dim: 8, classes: 2, in: dir)
        let x = data.features.path
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        try ok(["train", "--method", "lsh", "--bits", "16", "--input", x, "--quiet", "-o", path("m.safetensors")])
        try ok(["encode", "--model", path("m.safetensors"), "-o", path("codes.bin"), x])
        try ok(["index", "build", path("codes.bin"), "-o", path("index.bhi")])

        try fails(["encode", "--model", path("missing.safetensors"), x], status: 1, mentioning: "missing.safetensors")
        try fails(["encode", "--model", path("m.safetensors"), "-o", path("c2.bin"), path("missing.npy")], status: 1,
                  mentioning: "missing.npy")
        try fails(["train", "--method", "lsh", "--bits", "16", "--input", path("missing.npy"), "-o", path("x")], status: 1)
        try fails(["encode", "--model", path("codes.bin"), x], status: 1)        // a model file of another kind
        try fails(["encode", "--model", path("index.bhi"), x], status: 1)
        try fails(["train", "--method", "nosuch", "--bits", "16", "--input", x, "-o", path("x")], status: 1,
                  mentioning: "nosuch")
        try fails(["train", "--method", "lsh", "--bits", "0", "--input", x, "-o", path("x")], status: 1)
        try fails(["train", "--method", "sdc", "--bits", "8", "--beta-a", "0", "--input", x, "-o", path("x")], status: 1)
        try fails(["train", "--method", "sdc", "--bits", "8", "--contrastive", "--input", x, "-o", path("x")], status: 1)
        try fails(["train", "--method", "itq", "--bits", "64", "--input", x, "-o", path("x")], status: 1)  // K > D
        try fails(["index", "build", path("codes.bin"), "--bits", "24", "-o", path("i2.bhi")], status: 1)
        try fails(["search", "--index", path("index.bhi"), "--queries", path("codes.bin"), "-k", "0"], status: 1)
        try fails(["search", "--index", path("index.bhi"), "--queries", path("codes.bin"), "--radius", "2", "-k", "0"],
                  status: 1)
        try fails(["search", "--index", path("index.bhi"), "--queries", path("codes.bin"), "-k", "-1"])
        try fails(["search", "--index", path("codes.bin"), "--queries", path("codes.bin")], status: 1)
        try fails(["encode", "--model", path("m.safetensors"), "-o", path("c3.bin"), "nosuchthing"], status: 1,
                  mentioning: "nosuchthing")
        try fails(["encode", "--model", path("m.safetensors"), "--format", "npy", x], mentioning: "-o")
        try fails(["info", path("missing.bin")], status: 1)
        try fails(["info", path("index.bhi.names")], status: 1)
        try fails(["nosuch"])
        try fails(["--model", path("m.safetensors")], tool: "bihash-export", mentioning: "--onnx")
        try fails(["--model", path("codes.bin"), "--onnx", path("m.onnx")], tool: "bihash-export", status: 1)

        // Queries of another width than the index.
        try ok(["train", "--method", "lsh", "--bits", "8", "--input", x, "--quiet", "-o", path("m8.safetensors")])
        try ok(["encode", "--model", path("m8.safetensors"), "-o", path("codes8.bin"), x])
        try fails(["search", "--index", path("index.bhi"), "--queries", path("codes8.bin")], status: 1)
        // A truncated model file.
        let model = try Data(contentsOf: URL(fileURLWithPath: path("m.safetensors")))
        try model.prefix(model.count / 2).write(to: URL(fileURLWithPath: path("cut.safetensors")))
        try fails(["encode", "--model", path("cut.safetensors"), x], status: 1)
    }
}
