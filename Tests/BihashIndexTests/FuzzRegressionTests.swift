import BihashCore
import Foundation
import Testing
import _BihashTestSupport
@testable import BihashIndex

/// Replays every saved crash input of the codes, index, npycodes and cabi-index fuzz targets
/// (Tests/Fixtures/fuzz-regressions/TARGET/) through the calls the targets make (tools/fuzz/Sources/fuzz-*/):
/// the reader must throw a `BihashError`. As in the targets, the XXH64 field of codes (offset 88) and index
/// (offset 56) inputs is recomputed first; bihash_index_open is IndexFile.open behind the C thunk.
@Suite struct IndexFuzzRegressionTests {
    static let root = PythonReference.repoRoot.appendingPathComponent("Tests/Fixtures/fuzz-regressions")

    static func fixtures(_ target: String) -> [URL] {
        let dir = root.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    static func patchedChecksum(_ bytes: [UInt8], at offset: Int) -> [UInt8] {
        guard bytes.count >= offset + 8 else { return bytes }
        var b = bytes
        for i in 0..<8 { b[offset + i] = 0 }
        let h = b.withUnsafeBytes { XXHash64.hash($0.baseAddress!, count: $0.count) }
        for i in 0..<8 { b[offset + i] = UInt8(truncatingIfNeeded: h >> (8 * UInt64(i))) }
        return b
    }

    func expectCleanError(_ fixture: URL, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(fixture.lastPathComponent) was accepted; a crash fixture must be rejected")
        } catch is BihashError {
        } catch {
            Issue.record("\(fixture.lastPathComponent): not a BihashError: \(error)")
        }
    }

    @Test func codesFixturesFailCleanly() throws {
        for fixture in Self.fixtures("codes") {
            let bytes = Self.patchedChecksum([UInt8](try Data(contentsOf: fixture)), at: 88)
            expectCleanError(fixture) { _ = try bytes.withUnsafeBytes { try CodesFile(decoding: $0) }.encoded() }
        }
    }

    @Test(arguments: ["index", "cabi-index"])
    func indexFixturesFailCleanly(target: String) throws {
        for fixture in Self.fixtures(target) {
            let path = TestCodes.tempPath("replay.bhidx")
            defer { unlink(path) }
            try Data(Self.patchedChecksum([UInt8](try Data(contentsOf: fixture)), at: 56)).write(to: URL(fileURLWithPath: path))
            expectCleanError(fixture) {
                let index = try IndexFile.open(path)
                let q = try PackedCodes(bits: index.bits, count: 1, bytes: [UInt8](repeating: 0, count: (index.bits + 7) / 8))
                _ = try index.search(q, k: 3, threads: 1)
                _ = try index.search(q, radius: 2, threads: 1)
            }
        }
    }

    @Test func npyCodesFixturesFailCleanly() throws {
        for fixture in Self.fixtures("npycodes") {
            let bytes = [UInt8](try Data(contentsOf: fixture))
            expectCleanError(fixture) { _ = try bytes.withUnsafeBytes { try NPYCodes.decode($0) } }
            let path = TestCodes.tempPath("replay.npy")
            defer { unlink(path) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            _ = try? NPYCodes.read(path, bits: 12)
        }
    }
}
