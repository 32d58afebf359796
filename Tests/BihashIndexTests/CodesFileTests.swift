import BihashCore
import Foundation
import Testing
import _BihashTestSupport
@testable import BihashIndex

/// The codes file and `.npy` interop.
@Suite struct CodesFileTests {
    @Test(arguments: [1, 12, 64, 257])
    func codesFileRoundTrips(bits: Int) throws {
        let codes = TestCodes.random(bits: bits, count: 37, seed: UInt64(bits))
        let fingerprint = (0..<32).map { UInt8($0 * 7 & 0xFF) }
        let names = (0..<37).map { "images/cat_\($0)_é.png" }
        for file in [try CodesFile(codes: codes, fingerprint: fingerprint, names: names), try CodesFile(codes: codes)] {
            let path = TestCodes.tempPath("codes.bin")
            defer { unlink(path) }
            try file.write(to: path)
            let back = try CodesFile.read(path)
            #expect(back == file)
        }
        let empty = try CodesFile(codes: try PackedCodes(bits: bits), names: [])
        #expect(try empty.encoded().withUnsafeBytes { try CodesFile(decoding: $0) } == empty)
    }

    @Test func codesFileArgumentsAreChecked() {
        let codes = TestCodes.random(bits: 8, count: 3, seed: 1)
        #expect(throws: BihashError.self) { try CodesFile(codes: codes, fingerprint: [1, 2, 3]) }
        #expect(throws: BihashError.self) { try CodesFile(codes: codes, names: ["a"]) }
    }

    func expectRejected(_ bytes: [UInt8], _ label: String) {
        do {
            _ = try bytes.withUnsafeBytes { try CodesFile(decoding: $0, source: "test") }
            Issue.record("\(label): a damaged codes file was accepted")
        } catch let error as BihashError {
            if case .invalidFormat = error {} else { Issue.record("\(label): wrong error \(error)") }
        } catch {
            Issue.record("\(label): unexpected error \(error)")
        }
    }

    @Test func damagedCodesFilesAreRejected() throws {
        let codes = TestCodes.random(bits: 20, count: 50, seed: 2)
        let good = try CodesFile(codes: codes, names: (0..<50).map { "item\($0)" }).encoded()
        for i in 0..<good.count where i < CodesFile.headerSize || i % 7 == 0 {
            var bad = good
            bad[i] ^= 0x04
            expectRejected(bad, "byte \(i) flipped")
        }
        for length in [0, 10, 95, 96, 97, good.count / 2, good.count - 1] {
            expectRejected(Array(good.prefix(length)), "truncated to \(length)")
        }
        expectRejected(good + [0, 0, 0, 0], "trailing bytes")
    }

    @Test func npyRoundTripsAndRejectsOtherArrays() throws {
        let codes = TestCodes.random(bits: 20, count: 10, seed: 3)
        let path = TestCodes.tempPath("codes.npy")
        defer { unlink(path) }
        try NPYCodes.write(codes, to: path)
        #expect(try NPYCodes.read(path, bits: 20) == codes)
        #expect(try NPYCodes.read(path).bits == 24)
        #expect(throws: BihashError.self) { try NPYCodes.read(path, bits: 16) }  // 3-byte rows, 2-byte codes
        var bytes = NPYCodes.encoded(codes)
        bytes.withUnsafeMutableBytes { raw in
            let header = String(decoding: raw[10..<74], as: UTF8.self)
            #expect(header.contains("'descr': '|u1'"))
        }
        func decode(_ b: [UInt8]) throws -> PackedCodes { try b.withUnsafeBytes { try NPYCodes.decode($0, bits: 20) } }
        #expect(throws: BihashError.self) { try decode(Array(bytes.dropLast())) }
        #expect(throws: BihashError.self) { try decode([]) }
        var float = bytes
        float.replaceSubrange(20..<24, with: Array("'<f4".utf8))  // wrong dtype
        let asString = String(decoding: float[10..<74], as: UTF8.self)
        #expect(asString.contains("<f4"))
        #expect(throws: BihashError.self) { try decode(float) }
        bytes[bytes.count - 1] |= 0x0F  // padding bits of a 20-bit code
        #expect(throws: BihashError.self) { try decode(bytes) }
    }

    @Test func agreesWithNumPy() throws {
        // Codes, k-NN, radius search and .npy files checked against tools/reference/index_bruteforce.py.
        let bits = 40
        let db = TestCodes.clustered(bits: bits, count: 300, centres: 4, flip: 0.15, seed: 21)
        let ids = TestCodes.ids(300, seed: 22)
        let queries = TestCodes.random(bits: bits, count: 6, seed: 23)
        let mine = TestCodes.tempPath("swift.npy"), theirs = TestCodes.tempPath("numpy.npy")
        defer { unlink(mine); unlink(theirs) }
        try NPYCodes.write(db, to: mine)
        func hex(_ c: PackedCodes) -> [String] { (0..<c.count).map { c.code($0).map { String(format: "%02x", $0) }.joined() } }
        let answer = try PythonReference.run("index_bruteforce.py", input: [
            "bits": bits, "db": hex(db), "ids": ids.map { Int($0) }, "queries": hex(queries), "k": 15, "radius": 12,
            "read_npy": mine, "write_npy": theirs,
        ])
        func neighbors(_ v: Any?) -> [[Neighbor]] {
            ((v as? [[[Int]]]) ?? []).map { $0.map { Neighbor(id: UInt64($0[0]), distance: $0[1]) } }
        }
        let index = try FlatIndex(codes: db, ids: ids)
        #expect(try index.search(queries, k: 15) == neighbors(answer["knn"]))
        #expect(try MultiIndexHashing(index).search(queries, radius: 12) == neighbors(answer["within"]))
        let npy = answer["npy"] as? [String: Any]
        #expect(npy?["dtype"] as? String == "uint8")
        #expect(npy?["shape"] as? [Int] == [300, 5])
        #expect(npy?["rows"] as? [String] == hex(db))
        #expect(try NPYCodes.read(theirs, bits: bits) == db)
    }
}
