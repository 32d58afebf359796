import Foundation
import Testing
import BihashCore
import _BihashTestSupport
@testable import BihashIO

/// The safetensors container: byte layout against the reference implementation's own test vectors, round trips,
/// the `safetensors` pip package, and rejection of every kind of corrupt file.
@Suite struct SafetensorsTests {
    static func f32(_ values: [Float], _ shape: [Int]) throws -> SafetensorsTensor {
        SafetensorsTensor(try Tensor(shape: shape, scalars: values))
    }

    /// A file from a literal header (not padded unless asked) and data buffer.
    static func craft(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        var out = [UInt8]()
        withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
        return out + h + data
    }

    // Expected bytes are the ones in huggingface/safetensors `safetensors/src/tensor.rs` tests.
    @Test func matchesReferenceTestVectors() throws {
        let data: [Float] = [0, 1, 2, 3, 4, 5]
        let one = try SafetensorsFile(tensors: ["attn.0": Self.f32(data, [1, 2, 3])])
        #expect(try one.serialized() == [
            64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
            116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
            58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
            101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
            0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
        ])
        let aligned = try SafetensorsFile(tensors: ["attn0": Self.f32(data, [1, 1, 2, 3])])
        #expect(try aligned.serialized() == [
            72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
            121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
            91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
            115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
            32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
            160, 64,
        ])
        #expect(try SafetensorsFile().serialized() == [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32])
        let withMetadata = try SafetensorsFile(metadata: ["framework": "pt"])
        #expect(try withMetadata.serialized() == [
            40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
            95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
            116, 34, 125, 125, 32, 32, 32, 32, 32,
        ])
        for file in [one, aligned, withMetadata] {
            let back = try SafetensorsFile(bytes: file.serialized())
            #expect(back.tensors == file.tensors && back.metadata == file.metadata)
        }
    }

    @Test func sortsByDescendingDtypeThenNameAndRoundTripsEveryDtype() throws {
        var file = try SafetensorsFile(metadata: ["note": "quote \" backslash \\ newline \n tab \t bell \u{07} ü 🙂", "a": ""])
        for (i, dtype) in SafetensorsDType.allCases.enumerated() {
            let shape = [2, 3]
            let data = (0..<(6 * dtype.byteWidth)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
            try file.insert(SafetensorsTensor(dtype: dtype, shape: shape, data: data), named: "t.\(dtype.rawValue)")
        }
        try file.insert(Self.f32([], [0, 4]), named: "empty")
        try file.insert(Self.f32([7], []), named: "scalar")
        try file.insert(Self.f32([1, 2], [2]), named: "b.f32")
        let order = file.orderedNames
        #expect(order.prefix(3) == ["t.U64", "t.I64", "t.F64"])
        #expect(order.last == "t.BOOL")
        let f32s = order.filter { file.tensors[$0]?.dtype == .f32 }
        #expect(f32s == ["b.f32", "empty", "scalar", "t.F32"])
        let bytes = try file.serialized()
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
        let back = try SafetensorsFile(bytes: bytes)
        #expect(back.tensors == file.tensors)
        #expect(back.metadata == file.metadata)
        #expect(try back.tensors["scalar"]?.floatTensor() == Tensor(uncheckedShape: [], scalars: [7]))
    }

    @Test func writesAtomicallyAndReadsBack() throws {
        let dir = try IOFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/w.safetensors"
        let file = try SafetensorsFile(tensors: ["w": Self.f32([1, 2, 3, 4], [2, 2])], metadata: ["k": "v"])
        try file.write(to: path)
        try file.write(to: path)  // replacing an existing file
        let back = try SafetensorsFile(contentsOfFile: path)
        #expect(back.tensors == file.tensors && back.metadata == file.metadata)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["w.safetensors"])  // no temporary left
        #expect(throws: BihashError.self) { try file.write(to: dir + "/missing/dir/w.safetensors") }
        #expect(throws: BihashError.self) { try SafetensorsFile(contentsOfFile: dir + "/absent.safetensors") }
        #expect(throws: BihashError.self) { try SafetensorsFile(contentsOfFile: dir) }
        #expect(throws: BihashError.self) { try SafetensorsFile(tensors: ["__metadata__": Self.f32([1], [1])]) }
        #expect(throws: BihashError.self) { try SafetensorsTensor(dtype: .f32, shape: [2], data: [0, 0, 0]) }
    }

    /// One corrupt file per rule, each with the error case and a phrase its message must contain.
    static let corruptFiles: [(label: String, bytes: [UInt8], phrase: String, limit: Bool)] = {
        let valid = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}"#
        let data12 = [UInt8](repeating: 1, count: 12)
        let good = craft(valid, data: data12)
        var headerNotUTF8 = good
        headerNotUTF8[12] = 0xFF
        return [
            ("shorter than 8 bytes", [1, 0, 0], "fewer than the 8-byte", false),
            ("truncated header", Array(good.prefix(40)), "truncated", false),
            ("truncated data", Array(good.dropLast(3)), "run past the end", false),
            ("trailing bytes", good + [0, 0, 0, 0], "the last offset must be the end", false),
            ("huge header length 2^63", craft(valid, data: data12, length: 1 << 63), "exceeds the limit", true),
            ("header length just above 100 MB", craft(valid, data: data12, length: 100_000_001), "exceeds the limit", true),
            ("bad header JSON", craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#, data: data12), "not valid JSON", false),
            ("header not UTF-8", headerNotUTF8, "not valid UTF-8", false),
            ("header not an object", craft("[1,2]   ", data: []), "must start with '{'", false),
            ("unknown dtype", craft(#"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "unknown dtype \"F33\"", false),
            ("dtype not a string", craft(#"{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "\"dtype\" must be a string", false),
            ("offsets out of range", craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}"#, data: [UInt8](repeating: 0, count: 10)), "run past the end", false),
            ("overlapping offsets", craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "overlap", false),
            ("gap between tensors", craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[10,14]}}"#, data: [UInt8](repeating: 0, count: 14)), "gap", false),
            ("not starting at 0", craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: [UInt8](repeating: 0, count: 12)), "gap", false),
            ("end before begin", craft(#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}}"#, data: [0, 0, 0, 0]), "end before they begin", false),
            ("size differs from shape × dtype", craft(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "needs 12 bytes", false),
            ("shape overflow", craft(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "overflows", false),
            ("negative dimension", craft(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "not a non-negative integer", false),
            ("fractional dimension", craft(#"{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "not a non-negative integer", false),
            ("offset beyond 64 bits", craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}}"#, data: [UInt8](repeating: 0, count: 8)), "non-negative integers", false),
            ("three offsets", craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "[BEGIN, END]", false),
            ("missing data_offsets", craft(#"{"a":{"dtype":"F32","shape":[2]}}"#, data: [UInt8](repeating: 0, count: 8)), "data_offsets", false),
            ("duplicate tensor name", craft(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, data: [0, 0]), "duplicate key", false),
            ("metadata value not a string", craft(#"{"__metadata__":{"k":1}}"#), "must be a string", false),
            ("metadata not an object", craft(#"{"__metadata__":[]}"#), "must be an object of strings", false),
            ("deep nesting", craft("{\"a\":" + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}"), "nesting deeper", false),
            ("NaN literal", craft(#"{"__metadata__":{"k":NaN}}"#), "not valid JSON", false),
        ]
    }()

    @Test func rejectsCorruptFilesWithClearErrors() throws {
        for c in Self.corruptFiles {
            do {
                _ = try SafetensorsFile(bytes: c.bytes)
                Issue.record("\(c.label): accepted a corrupt file")
            } catch let e as BihashError {
                if c.limit {
                    guard case .limitExceeded = e else { Issue.record("\(c.label): expected limitExceeded, got \(e)"); continue }
                } else {
                    guard case .invalidFormat = e else { Issue.record("\(c.label): expected invalidFormat, got \(e)"); continue }
                }
                #expect(e.message.contains(c.phrase), "\(c.label): message '\(e.message)' lacks '\(c.phrase)'")
            }
        }
    }

    @Test func corruptFileFromDiskNamesThePath() throws {
        let dir = try IOFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bad.safetensors"
        try Foundation.Data(Self.craft("{", data: [])).write(to: URL(fileURLWithPath: path))
        do {
            _ = try SafetensorsFile(contentsOfFile: path)
            Issue.record("accepted a corrupt file")
        } catch let e as BihashError {
            #expect(e.message.hasPrefix(path))
        }
    }

    /// The reference package opens bihash's files, re-serialises them to the same bytes, and refuses every
    /// corrupt file bihash refuses.
    @Test func referencePackageAgrees() throws {
        let dir = try IOFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var plain = try SafetensorsFile(metadata: ["format": "np"])
        try plain.insert(Self.f32((0..<12).map { Float($0) * 0.5 - 2 }, [3, 4]), named: "layer.weight")
        try plain.insert(Self.f32([1, -1, 0.25], [3]), named: "layer.bias")
        try plain.insert(SafetensorsTensor(dtype: .u8, shape: [5], data: [1, 2, 3, 4, 5]), named: "bytes")
        try plain.insert(SafetensorsTensor(dtype: .i64, shape: [2], data: [UInt8](repeating: 0, count: 15) + [128]), named: "longs")
        try plain.insert(SafetensorsTensor(dtype: .f64, shape: [1, 2], data: [UInt8](repeating: 0, count: 16)), named: "doubles")
        try plain.write(to: dir + "/plain.safetensors")
        try SafetensorsFile(tensors: ["x": Self.f32([3], [1])]).write(to: dir + "/nometa.safetensors")
        let model = try IOFixtures.sdcStyle(bits: 16, seed: 9)
        try ModelFile.save(model, to: dir + "/model.safetensors")
        let shared = Self.corruptFiles
        var corruptPaths: [String] = []
        for (i, c) in shared.enumerated() {
            let p = dir + "/corrupt\(i).safetensors"
            try Foundation.Data(c.bytes).write(to: URL(fileURLWithPath: p))
            corruptPaths.append(p)
        }
        let out = try PythonReference.run("io_safetensors_pkg.py", input: [
            "files": [dir + "/plain.safetensors", dir + "/model.safetensors"],
            "resave": [dir + "/plain.safetensors", dir + "/nometa.safetensors"],
            "corrupt": corruptPaths,
        ])
        let files = out["files"] as? [[String: Any]] ?? []
        #expect(files.count == 2)
        #expect((out["resave_identical"] as? [Bool]) == [true, true])
        let rejected = out["corrupt_rejected"] as? [Bool] ?? []
        for (i, c) in shared.enumerated() {
            #expect(rejected.count > i && rejected[i], "safetensors \(out["version"] ?? "?") accepted '\(c.label)'")
        }
        if files.count == 2 {
            #expect((files[0]["metadata"] as? [String: String]) == ["format": "np"])
            let tensors = files[0]["tensors"] as? [String: [String: Any]] ?? [:]
            #expect(tensors["layer.weight"]?["dtype"] as? String == "float32")
            #expect(tensors["layer.weight"]?["shape"] as? [Int] == [3, 4])
            #expect(tensors["layer.weight"]?["sum"] as? Double == 9)
            #expect(tensors["longs"]?["dtype"] as? String == "int64")
            let meta = files[1]["metadata"] as? [String: String] ?? [:]
            #expect(meta["bihash.format_version"] == "1")
            #expect(meta["bihash.method"] == "bihalf")
            #expect(meta["bihash.bits"] == "16")
            #expect(meta["bihash.bit_order"] == "msb-first")
            #expect(meta["bihash.input"] == #"{"dim":784,"preprocess":"none"}"#)
            #expect(meta["bihash.fingerprint"] == (try ModelFile.fingerprintHex(model)))
            let modelTensors = files[1]["tensors"] as? [String: [String: Any]] ?? [:]
            #expect(Set(modelTensors.keys) == ["phi.0.weight", "phi.0.bias", "phi.2.weight", "phi.2.bias", "phi.3.weight",
                                                 "phi.3.bias", "phi.3.running_mean", "phi.3.running_var"])
            #expect(modelTensors["phi.0.weight"]?["shape"] as? [Int] == [128, 784])
        }
    }
}
