import Foundation
import Testing
import BihashCore
import BihashNN
import BihashMethods
import _BihashTestSupport
@testable import BihashIO

/// A layer bihash cannot save (to test the error).
final class Doubler: Layer {
    typealias Scalar = Float
    func forward(_ x: Tensor<Float>, training: Bool) throws -> Tensor<Float> { Tensor(uncheckedShape: x.shape, scalars: x.scalars.map { 2 * $0 }) }
    func backward(_ gradOutput: Tensor<Float>) throws -> Tensor<Float> { Tensor(uncheckedShape: gradOutput.shape, scalars: gradOutput.scalars.map { 2 * $0 }) }
    var summary: String { "Doubler" }
}

/// Model files: round trips that encode byte-identically, the metadata layout, the NumPy-only reader, and
/// rejection of inconsistent model descriptions.
@Suite struct ModelFileTests {
    @Test func sha256MatchesStandardVectors() {
        #expect(ModelFile.hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(ModelFile.hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(ModelFile.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var incremental = SHA256()
        for chunk in ["abcdbcdecdefdefgefghfghighijhijk", "ijkljklmklmnlmnomnopnopq"] { incremental.update(chunk) }
        #expect(ModelFile.hex(incremental.finalize()) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Several blocks, fed in uneven pieces (partial block, whole blocks straight from the input, remainder).
        var pieces = SHA256()
        for n in [1, 63, 130, 806] { pieces.update([UInt8](repeating: 0x61, count: n)) }
        #expect(ModelFile.hex(pieces.finalize()) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        #expect(ModelFile.hex(SHA256.hash([UInt8](repeating: 0x61, count: 1000))) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func everyModelRoundTripsAndEncodesIdentically() throws {
        let data = try IOFixtures.data()
        let dir = try IOFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (i, c) in try IOFixtures.models().enumerated() {
            let path = "\(dir)/m\(i).safetensors"
            try ModelFile.save(c.model, to: path)
            let loaded = try ModelFile.load(path: path)
            #expect(loaded.method == c.model.method && loaded.bits == c.model.bits, "\(c.label)")
            #expect(loaded.inputDimension == c.model.inputDimension && loaded.preprocessing == c.model.preprocessing, "\(c.label)")
            #expect(loaded.metadata == c.model.metadata, "\(c.label)")
            #expect(try loaded.encode(data.eval) == c.model.encode(data.eval), "\(c.label): codes differ after a round trip")
            #expect(try ModelFile.fingerprint(loaded) == ModelFile.fingerprint(c.model), "\(c.label)")
            // Saving the loaded model gives the same bytes; loading from memory gives the same model.
            #expect(try ModelFile.serialize(loaded) == Array(Foundation.Data(contentsOf: URL(fileURLWithPath: path))), "\(c.label)")
            #expect(try ModelFile.load(bytes: ModelFile.serialize(c.model)).encode(data.eval.rows(0..<50))
                    == c.model.encode(data.eval.rows(0..<50)), "\(c.label)")
        }
    }

    @Test func metadataAndTensorNamesFollowTheDesign() throws {
        let models = try IOFixtures.models()
        let ae = try #require(models.first { $0.label == "bihalf autoencoder K=12" }).model
        let file = try ModelFile.safetensors(for: ae)
        #expect(file.metadata["bihash.format_version"] == "1")
        #expect(file.metadata["bihash.method"] == "bihalf")
        #expect(file.metadata["bihash.bits"] == "12")
        #expect(file.metadata["bihash.bit_order"] == "msb-first")
        #expect(file.metadata["bihash.input"] == #"{"dim":784,"preprocess":"minmax-round"}"#)
        #expect(file.metadata["bihash.arch"]
                == #"[{"type":"linear","in":784,"out":64,"name":"encoder.0"},{"type":"relu"},{"type":"linear","in":64,"out":12,"name":"encoder.2"}]"#)
        #expect(file.metadata["bihash.train.recipe"] == "autoencoder")
        #expect(file.metadata["bihash.train.seed"] == "5")
        #expect(file.metadata["bihash.fingerprint"] == (try ModelFile.fingerprintHex(ae)))
        #expect(Set(file.tensors.keys) == ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias"])
        #expect(file.tensors["encoder.0.weight"]?.shape == [64, 784])
        #expect(file.tensors["encoder.0.weight"]?.dtype == .f32)

        let hand = try #require(models.first { $0.label.hasPrefix("hand-built BN") }).model
        let arch = try #require(ModelFile.safetensors(for: hand).metadata["bihash.arch"])
        #expect(arch.contains(#"{"type":"batchnorm1d","features":48,"eps":1e-05,"momentum":0.1,"name":"head.1"}"#))
        #expect(arch.contains(#"{"type":"gelu"},{"type":"linear","in":48,"out":32,"name":"head.3"},{"type":"tanh"},{"type":"dropout","p":0.25}"#))
        #expect(arch.contains(#"{"type":"sigmoid"}"#))
    }

    /// A NumPy-only script parses the file by hand, recomputes the codes, and gets the same bytes (a bit may
    /// differ only where |U| ≤ 1e-5); it also recomputes the fingerprint with hashlib.
    @Test func numpyOnlyReaderReproducesCodes() throws {
        let data = try IOFixtures.data()
        let dir = try IOFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let featuresPath = dir + "/features.f32"
        try IOFixtures.writeFloats(data.eval, to: featuresPath)
        let labels = ["bihalf K=64", "itq K=16", "lsh K=12", "bihalf autoencoder K=12", "hand-built BN/GELU/Tanh/Sigmoid K=20",
                      "hand-built SDC-style head K=64"]
        for c in try IOFixtures.models() where labels.contains(c.label) {
            let path = dir + "/model.safetensors"
            try ModelFile.save(c.model, to: path)
            let out = try PythonReference.run("io_safetensors_numpy.py", input: [
                "model": path, "features": featuresPath, "rows": data.eval.rows, "cols": data.eval.cols,
            ])
            let codes = try c.model.encode(data.eval)
            let u = try c.model.project(data.eval)
            let numpyCodes = IOFixtures.bytes(hex: out["codes"] as? String ?? "")
            #expect(numpyCodes.count == codes.bytes.count, "\(c.label)")
            let cmp = IOFixtures.compare(numpyCodes, with: codes, presign: u)
            print("NumPy reader, \(c.label): \(cmp.differing) differing bits (\(cmp.nearZero) with |U| ≤ 1e-5; \(cmp.ambiguous) bits have |U| ≤ 1e-5)")
            #expect(cmp.differing == cmp.nearZero, "\(c.label): \(cmp.differing - cmp.nearZero) bits differ with |U| > 1e-5")
            #expect(out["fingerprint"] as? String == (try ModelFile.fingerprintHex(c.model)), "\(c.label)")
            #expect(out["header_padding_ok"] as? Bool == true, "\(c.label)")
            #expect(out["order"] as? [String] == (try ModelFile.safetensors(for: c.model).orderedNames), "\(c.label)")
        }
    }

    // MARK: Rejections

    /// The model file of the SDC-style fixture as a container, to corrupt.
    static func container() throws -> SafetensorsFile {
        try ModelFile.safetensors(for: IOFixtures.sdcStyle(bits: 16, seed: 2))
    }

    static func expectRejected(_ file: SafetensorsFile, _ phrase: String, dropFingerprint: Bool = true,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        var f = file
        if dropFingerprint { f.metadata["bihash.fingerprint"] = nil }
        do {
            _ = try ModelFile.load(bytes: f.serialized())
            Issue.record("accepted a bad model file (expected '\(phrase)')", sourceLocation: sourceLocation)
        } catch let e as BihashError {
            #expect(e.message.contains(phrase), "message '\(e.message)' lacks '\(phrase)'", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func rejectsInconsistentModelFiles() throws {
        let good = try Self.container()
        #expect(throws: Never.self) { try ModelFile.load(bytes: good.serialized()) }

        var f = good
        f = try SafetensorsFile(tensors: good.tensors.filter { $0.key != "phi.2.bias" }, metadata: good.metadata)
        Self.expectRejected(f, "missing tensor 'phi.2.bias'")

        f = good
        try f.insert(SafetensorsTests.f32([1], [1]), named: "phi.9.weight")
        Self.expectRejected(f, "unexpected tensor 'phi.9.weight'")

        f = good
        try f.insert(SafetensorsTests.f32([Float](repeating: 0, count: 17), [17]), named: "phi.3.running_var")
        Self.expectRejected(f, "has shape [17], expected [16]")

        f = good
        try f.insert(SafetensorsTensor(dtype: .f64, shape: [16], data: [UInt8](repeating: 0, count: 128)), named: "phi.3.bias")
        Self.expectRejected(f, "has dtype F64")

        f = good
        var nan = try good.tensors["phi.0.bias"]!.floatTensor()
        nan.scalars[3] = .nan
        try f.insert(SafetensorsTensor(nan), named: "phi.0.bias")
        Self.expectRejected(f, "must have finite weights")

        f = good
        f.metadata["bihash.arch"] = f.metadata["bihash.arch"]!.replacingOccurrences(of: #"{"type":"gelu"}"#, with: #"{"type":"conv2d"}"#)
        Self.expectRejected(f, "unknown layer type \"conv2d\"")

        f = good
        f.metadata["bihash.arch"] = f.metadata["bihash.arch"]!.replacingOccurrences(of: #"{"type":"gelu"}"#, with: #"{"type":"gelu","approximate":"tanh"}"#)
        Self.expectRejected(f, "unknown key \"approximate\"")

        f = good
        f.metadata["bihash.arch"] = "[{\"type\":"
        Self.expectRejected(f, "not valid JSON")

        f = good
        f.metadata["bihash.bits"] = "32"
        Self.expectRejected(f, "outputs 16 values per row but bihash.bits is 32")

        f = good
        f.metadata["bihash.bits"] = "0"
        Self.expectRejected(f, "not a number of bits")

        f = good
        f.metadata["bihash.input"] = #"{"dim":785,"preprocess":"none"}"#
        Self.expectRejected(f, "takes 784 inputs but receives 785")

        f = good
        f.metadata["bihash.input"] = #"{"dim":784,"preprocess":"zscore"}"#
        Self.expectRejected(f, "\"preprocess\" must be")

        f = good
        f.metadata["bihash.method"] = "spectral"
        Self.expectRejected(f, "unknown bihash.method \"spectral\"")

        f = good
        f.metadata["bihash.format_version"] = "2"
        Self.expectRejected(f, "format version 2")

        f = good
        f.metadata["bihash.bit_order"] = "lsb-first"
        Self.expectRejected(f, "lsb-first")

        f = good
        f.metadata["bihash.arch"] = nil
        Self.expectRejected(f, "no bihash.arch metadata")

        // A weight changed after writing: the stored fingerprint no longer matches.
        f = good
        var w = try good.tensors["phi.2.weight"]!.floatTensor()
        w.scalars[0] += 1
        try f.insert(SafetensorsTensor(w), named: "phi.2.weight")
        Self.expectRejected(f, "file was modified or corrupted", dropFingerprint: false)

        // Plain corruption of the container surfaces as the safetensors error, with the path.
        let dir = try IOFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/truncated.safetensors"
        try Foundation.Data(Array(good.serialized().dropLast(10))).write(to: URL(fileURLWithPath: path))
        #expect { try ModelFile.load(path: path) } throws: { e in
            guard let e = e as? BihashError, case .invalidFormat(let m) = e else { return false }
            return m.hasPrefix(path) && m.contains("run past the end")
        }
        #expect { try ModelFile.load(path: dir + "/absent.safetensors") } throws: { e in
            guard let e = e as? BihashError, case .io = e else { return false }
            return true
        }
    }

    @Test func saveRejectsModelsItCannotDescribe() throws {
        var rng = SeededGenerator(seed: 1)
        let custom = try HashModel(method: .sign, bits: 8, inputDimension: 4,
                                   encoder: Sequential([Linear<Float>(4, 8, name: "a", using: &rng), Doubler()]))
        #expect { try ModelFile.serialize(custom) } throws: { e in
            guard let e = e as? BihashError, case .invalidArgument(let m) = e else { return false }
            return m.contains("Doubler") && m.contains("cannot be saved or exported")
        }
        #expect(throws: BihashError.self) { try ONNXExport.serialize(custom) }

        let wrongWidth = try HashModel(method: .sign, bits: 8, inputDimension: 5,
                                       encoder: Sequential([Linear<Float>(4, 8, name: "a", using: &rng)]))
        #expect { try ModelFile.serialize(wrongWidth) } throws: { e in
            (e as? BihashError)?.message.contains("takes 4 inputs but receives 5") == true
        }
        let wrongBits = try HashModel(method: .sign, bits: 16, inputDimension: 4,
                                      encoder: Sequential([Linear<Float>(4, 8, name: "a", using: &rng)]))
        #expect { try ModelFile.serialize(wrongBits) } throws: { e in
            (e as? BihashError)?.message.contains("outputs 8 values per row but the model has K = 16") == true
        }
        let twice = try HashModel(method: .sign, bits: 8, inputDimension: 8,
                                  encoder: Sequential([Linear<Float>(8, 8, name: "a", using: &rng), Linear<Float>(8, 8, name: "a", using: &rng)]))
        #expect { try ModelFile.serialize(twice) } throws: { e in
            (e as? BihashError)?.message.contains("used twice") == true
        }
        let badName = Linear<Float>(4, 8, name: "a", using: &rng)
        badName.weight.name = "kernel"
        let renamed = try HashModel(method: .sign, bits: 8, inputDimension: 4, encoder: Sequential([badName]))
        #expect { try ModelFile.serialize(renamed) } throws: { e in
            (e as? BihashError)?.message.contains("does not end in '.weight'") == true
        }
        let nanLayer = Linear<Float>(4, 8, name: "a", using: &rng)
        nanLayer.bias.value.scalars[2] = .infinity
        let nanModel = try HashModel(method: .sign, bits: 8, inputDimension: 4, encoder: Sequential([nanLayer]))
        #expect { try ModelFile.serialize(nanModel) } throws: { e in
            guard let e = e as? BihashError, case .numerical = e else { return false }
            return true
        }
    }
}
