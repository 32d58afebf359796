import BihashCore
import Foundation
import Testing
@testable import BihashIndex

/// Hostile inputs of issue 9 for the codes and index readers: counts far beyond the file, made consistent with
/// the header's other fields and the checksum, so that only the size limits can reject them.
@Suite struct IndexHostileInputTests {
    /// `bytes` with its XXH64 field at `offset` recomputed (as the writers do).
    static func checksummed(_ bytes: [UInt8], at offset: Int) -> [UInt8] {
        var b = bytes
        for i in 0..<8 { b[offset + i] = 0 }
        let h = b.withUnsafeBytes { XXHash64.hash($0.baseAddress!, count: $0.count) }
        for i in 0..<8 { b[offset + i] = UInt8(truncatingIfNeeded: h >> (8 * UInt64(i))) }
        return b
    }

    static func put(_ v: UInt64, _ b: inout [UInt8], at o: Int) { for i in 0..<8 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }

    func rejection(_ body: () throws -> Void) -> BihashError? {
        do { try body() } catch let e as BihashError { return e } catch { Issue.record("not a BihashError: \(error)") }
        return nil
    }

    @Test func indexClaiming2To40ItemsFailsCleanly() throws {
        let codes = TestCodes.random(bits: 64, count: 4, seed: 3)
        let path = TestCodes.tempPath("huge.bhidx")
        defer { unlink(path) }
        try FlatIndex(codes: codes, ids: [1, 2, 3, 4]).save(to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let n: UInt64 = 1 << 40
        // Count, ids offset and file size all describe 2^40 items of 8 + 8 bytes (16 TiB), consistently.
        Self.put(n, &bytes, at: 16)
        Self.put(64 + 8 * n, &bytes, at: 40)
        Self.put(64 + 16 * n, &bytes, at: 48)
        try Data(Self.checksummed(bytes, at: 56)).write(to: URL(fileURLWithPath: path))
        let e = rejection { _ = try FlatIndex.open(path) }
        #expect(e?.message.contains("exceeds the limit \(FlatIndex.maxRows)") == true, "\(String(describing: e))")
        // Just under the limit, the count is checked against the real file size before anything is read.
        let m = UInt64(FlatIndex.maxRows)
        Self.put(m, &bytes, at: 16)
        Self.put(64 + 8 * m, &bytes, at: 40)
        Self.put(64 + 16 * m, &bytes, at: 48)
        try Data(Self.checksummed(bytes, at: 56)).write(to: URL(fileURLWithPath: path))
        let f = rejection { _ = try FlatIndex.open(path) }
        #expect(f?.message.contains("truncated") == true, "\(String(describing: f))")
    }

    @Test func codesFileClaiming2To40CodesFailsCleanly() throws {
        var bytes = try CodesFile(codes: TestCodes.random(bits: 16, count: 3, seed: 4)).encoded()
        Self.put(1 << 40, &bytes, at: 16)
        Self.put(96 + 2 << 40, &bytes, at: 80)
        bytes = Self.checksummed(bytes, at: 88)
        let e = rejection { _ = try bytes.withUnsafeBytes { try CodesFile(decoding: $0) } }
        #expect(e?.message.contains("claims 1099511627776 codes") == true, "\(String(describing: e))")
    }

    @Test func codeWidthAbove4096IsRejectedByEveryReader() throws {
        // Codes file and index file: K = 4097 in the header.
        var codes = try CodesFile(codes: TestCodes.random(bits: 8, count: 1, seed: 5)).encoded()
        codes[12] = 0x01; codes[13] = 0x10  // 4097
        codes = Self.checksummed(codes, at: 88)
        #expect(rejection { _ = try codes.withUnsafeBytes { try CodesFile(decoding: $0) } }?.message.contains("1...4096") == true)
        let path = TestCodes.tempPath("wide.bhidx")
        defer { unlink(path) }
        try FlatIndex(codes: TestCodes.random(bits: 8, count: 1, seed: 6), ids: [9]).save(to: path)
        var index = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        index[12] = 0x01; index[13] = 0x10
        try Data(Self.checksummed(index, at: 56)).write(to: URL(fileURLWithPath: path))
        #expect(rejection { _ = try FlatIndex.open(path) }?.message.contains("1...4096") == true)
        // .npy codes: rows of 513 bytes (K would be 4104), and a row width whose 8·B overflows Int.
        for b in ["513", "9223372036854775807", "1152921504606846976"] {
            let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (0, \(b)), }"
            var dict = Array(header.utf8)
            while (10 + dict.count + 1) % 64 != 0 { dict.append(0x20) }
            dict.append(0x0A)
            let npy: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(dict.count), 0] + dict
            let e = rejection { _ = try npy.withUnsafeBytes { try NPYCodes.decode($0) } }
            #expect(e?.message.contains("4096") == true, "\(b): \(String(describing: e))")
        }
    }
}
