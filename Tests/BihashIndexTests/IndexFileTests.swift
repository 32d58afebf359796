import BihashCore
import Foundation
import Testing
@testable import BihashIndex

/// Save → open round trips and rejection of damaged index files.
@Suite struct IndexFileTests {
    func makeIndex(bits: Int = 60, n: Int = 500) throws -> (FlatIndex, PackedCodes) {
        var index = try FlatIndex(codes: TestCodes.clustered(bits: bits, count: n, centres: 5, flip: 0.1, seed: 11),
                                  ids: TestCodes.ids(n, seed: 12))
        index.remove(ids: Array(TestCodes.ids(n, seed: 12).prefix(17)))
        return (index, TestCodes.random(bits: bits, count: 9, seed: 13))
    }

    @Test(arguments: [1, 7, 60, 64, 128, 300])
    func saveThenOpenRoundTrips(bits: Int) throws {
        let (index, queries) = try makeIndex(bits: bits)
        let path = TestCodes.tempPath("roundtrip.bhidx")
        defer { unlink(path) }
        try index.save(to: path)
        let opened = try FlatIndex.open(path)
        #expect(opened.isMapped && opened.count == index.count && opened.bits == bits && opened.removedCount == 0)
        let a = try index.items(), b = try opened.items()
        #expect(a.codes == b.codes && a.ids == b.ids)
        #expect(try opened.search(queries, k: 30) == index.search(queries, k: 30))
        #expect(try MultiIndexHashing(opened).search(queries, radius: bits / 8) == index.search(queries, radius: bits / 8))
        // Saving again gives the same bytes (deterministic format).
        let again = TestCodes.tempPath("again.bhidx")
        defer { unlink(again) }
        try opened.save(to: again)
        #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: again))
    }

    /// A file whose rows are not in code order (as written before rows were ordered) opens, searches exactly
    /// (multi-index hashing then reads every table through entries), and is put in order by `compact`.
    @Test func unorderedFileIsReadAndSorted() throws {
        let (index, queries) = try makeIndex(bits: 64)
        let path = TestCodes.tempPath("unordered.bhidx")
        defer { unlink(path) }
        try index.save(to: path)
        // Reverse the rows in the file and fix the checksum.
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let n = index.count, bpc = 8, idsAt = IndexFile.align8(IndexFile.headerSize + n * bpc)
        let codes = Array(bytes[IndexFile.headerSize..<(IndexFile.headerSize + n * bpc)])
        let ids = Array(bytes[idsAt..<(idsAt + 8 * n)])
        for i in 0..<n {
            let j = n - 1 - i
            bytes.replaceSubrange((IndexFile.headerSize + i * bpc)..<(IndexFile.headerSize + (i + 1) * bpc), with: codes[(j * bpc)..<((j + 1) * bpc)])
            bytes.replaceSubrange((idsAt + 8 * i)..<(idsAt + 8 * (i + 1)), with: ids[(8 * j)..<(8 * (j + 1))])
        }
        for b in 0..<8 { bytes[IndexFile.checksumOffset + b] = 0 }
        var hasher = XXHash64()
        hasher.update(bytes)
        let sum = hasher.finalize()
        for b in 0..<8 { bytes[IndexFile.checksumOffset + b] = UInt8(truncatingIfNeeded: sum >> UInt64(8 * b)) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        var opened = try FlatIndex.open(path)
        #expect(opened.isMapped && !opened.rows.isSorted)
        let expected = try index.search(queries, k: 30)
        #expect(try opened.search(queries, k: 30) == expected)
        var mih = try MultiIndexHashing(opened)
        mih.probeBudget = Int.max
        #expect(!mih.readsFirstTableInPlace)
        #expect(try mih.search(queries, k: 30, threads: 1) == expected)
        #expect(try mih.search(queries, radius: 8, threads: 1) == index.search(queries, radius: 8))
        opened.compact()
        #expect(!opened.isMapped && opened.rows.isSorted)
        #expect(try opened.items().ids == index.items().ids)
        #expect(try MultiIndexHashing(opened).readsFirstTableInPlace)
    }

    @Test func mappedIndexCanChange() throws {
        let (index, queries) = try makeIndex(bits: 64)
        let path = TestCodes.tempPath("mutate.bhidx")
        defer { unlink(path) }
        try index.save(to: path)
        var opened = try FlatIndex.open(path)
        let (_, ids) = try index.items()
        #expect(opened.remove(ids: Array(ids.prefix(10))) == 10)
        #expect(opened.isMapped)  // tombstones only
        try opened.add(TestCodes.random(bits: 64, count: 2, seed: 5), ids: [1, 2])
        #expect(!opened.isMapped && opened.count == index.count - 8)
        var expected = index
        expected.remove(ids: Array(ids.prefix(10)))
        try expected.add(TestCodes.random(bits: 64, count: 2, seed: 5), ids: [1, 2])
        #expect(try opened.search(queries, k: 40) == expected.search(queries, k: 40))
        // The file itself is unchanged.
        #expect(try FlatIndex.open(path).count == index.count)
    }

    @Test func emptyIndexRoundTrips() throws {
        let path = TestCodes.tempPath("empty.bhidx")
        defer { unlink(path) }
        try FlatIndex(bits: 16).save(to: path)
        let opened = try FlatIndex.open(path)
        #expect(opened.count == 0 && opened.bits == 16)
        #expect(try opened.search(TestCodes.random(bits: 16, count: 2, seed: 1), k: 3) == [[], []])
    }

    /// Writes `bytes` to a file and expects `FlatIndex.open` to throw `.invalidFormat` (never crash).
    func expectRejected(_ bytes: [UInt8], _ label: String, verify: Bool = true) {
        let path = TestCodes.tempPath("bad.bhidx")
        defer { unlink(path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        do {
            _ = try FlatIndex.open(path, verifyChecksum: verify)
            Issue.record("\(label): a damaged index file was accepted")
        } catch let error as BihashError {
            guard case .invalidFormat(let message) = error else { Issue.record("\(label): wrong error \(error)"); return }
            #expect(message.contains(path), "\(label): message names the file: \(message)")
        } catch {
            Issue.record("\(label): unexpected error \(error)")
        }
    }

    @Test func damagedFilesAreRejected() throws {
        let (index, _) = try makeIndex(bits: 60, n: 300)
        let path = TestCodes.tempPath("good.bhidx")
        defer { unlink(path) }
        try index.save(to: path)
        let good = [UInt8](FileManager.default.contents(atPath: path)!)
        // Every header field: magic, version, bits, count, bit order, header size, offsets, size, checksum.
        let fields: [(String, Int, Int)] = [("magic", 0, 8), ("version", 8, 4), ("bits", 12, 4), ("count", 16, 8),
                                            ("bit order", 24, 4), ("header size", 28, 4), ("codes offset", 32, 8),
                                            ("ids offset", 40, 8), ("file size", 48, 8), ("checksum", 56, 8)]
        for (name, offset, size) in fields {
            for delta: UInt8 in [1, 0x80] {
                var bad = good
                bad[offset + size - 1] ^= delta      // high byte: a huge value
                expectRejected(bad, "\(name) high byte ^ \(delta)")
                bad = good
                bad[offset] ^= delta                 // low byte: off by a little
                expectRejected(bad, "\(name) low byte ^ \(delta)")
            }
        }
        // Every single header byte flipped, with and without checksum verification of the rest.
        for i in 0..<IndexFile.headerSize where i < 56 {
            var bad = good
            bad[i] ^= 0xFF
            expectRejected(bad, "header byte \(i)", verify: false)
        }
        // A flipped bit in the codes, in the ids, in the alignment padding.
        for offset in [IndexFile.headerSize, IndexFile.headerSize + 100, good.count - 1, good.count - 8 * 283 + 3] {
            var bad = good
            bad[offset] ^= 0x10
            expectRejected(bad, "data byte \(offset)")
        }
        // A padding bit set (60-bit codes leave 4 bits of padding per row): caught even without the checksum.
        var padded = good
        padded[IndexFile.headerSize + 7] |= 0x01
        expectRejected(padded, "padding bit", verify: false)
        // Truncated and extended files.
        for length in [0, 1, 8, 63, 64, 65, good.count / 2, good.count - 8, good.count - 1] {
            expectRejected(Array(good.prefix(length)), "truncated to \(length)")
        }
        expectRejected(good + [0], "one extra byte")
        expectRejected(good + [UInt8](repeating: 0, count: 4096), "extra page")
        // Another bihash file is named as such.
        expectRejected(try CodesFile(codes: TestCodes.random(bits: 8, count: 3, seed: 1)).encoded(), "codes file")
    }

    @Test func missingFilesAreIOErrors() {
        #expect(throws: BihashError.io("cannot open /nonexistent/x.bhidx: No such file or directory")) {
            try FlatIndex.open("/nonexistent/x.bhidx")
        }
        #expect(throws: BihashError.self) { try FlatIndex(bits: 8).save(to: "/nonexistent/dir/x.bhidx") }
        #expect(throws: BihashError.self) { try FlatIndex.open("/tmp") }
    }

    @Test func checksumIsXXH64() {
        // Published XXH64 test vectors (seed 0).
        func h(_ s: String) -> UInt64 { Array(s.utf8).withUnsafeBytes { XXHash64.hash($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: $0.count) } }
        #expect(h("") == 0xEF46_DB37_51D8_E999)
        #expect(h("a") == 0xD24E_C4F1_A98C_6E5B)
        #expect(h("abc") == 0x44BC_2CF5_AD77_0999)
        #expect(h("Nobody inspects the spammish repetition") == 0xFBCE_A83C_8A37_8BF1)
        // Streaming in odd pieces gives the same digest.
        let text = Array(String(repeating: "bihash multi-index hashing ", count: 20).utf8)
        var streamed = XXHash64()
        var i = 0
        for piece in [1, 5, 31, 32, 33, 7, 100] { let e = min(text.count, i + piece); streamed.update(Array(text[i..<e])); i = e }
        streamed.update(Array(text[i...]))
        #expect(streamed.finalize() == text.withUnsafeBytes { XXHash64.hash($0.baseAddress!, count: $0.count) })
    }
}
