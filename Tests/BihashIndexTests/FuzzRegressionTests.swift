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
    static func patchedChecksum(_ bytes: [UInt8], at offset: Int) -> [UInt8] {
        guard bytes.count >= offset + 8 else { return bytes }
        var b = bytes
        for i in 0..<8 { b[offset + i] = 0 }
        let h = b.withUnsafeBytes { XXHash64.hash($0.baseAddress!, count: $0.count) }
        for i in 0..<8 { b[offset + i] = UInt8(truncatingIfNeeded: h >> (8 * UInt64(i))) }
        return b
    }

    @Test func codesFixturesFailCleanly() throws {
        for fixture in FuzzRegressions.fixtures("codes") {
            let bytes = Self.patchedChecksum([UInt8](try Data(contentsOf: fixture)), at: 88)
            FuzzRegressions.expectCleanError(fixture) { _ = try bytes.withUnsafeBytes { try CodesFile(decoding: $0) }.encoded() }
        }
    }

    @Test(arguments: ["index", "cabi-index"])
    func indexFixturesFailCleanly(target: String) throws {
        for fixture in FuzzRegressions.fixtures(target) {
            let path = try FuzzRegressions.temporaryFile(Self.patchedChecksum([UInt8](try Data(contentsOf: fixture)), at: 56),
                                                         name: "replay.bhidx")
            defer { unlink(path) }
            FuzzRegressions.expectCleanError(fixture) {
                let index = try IndexFile.open(path)
                let q = try PackedCodes(bits: index.bits, count: 1, bytes: [UInt8](repeating: 0, count: (index.bits + 7) / 8))
                _ = try index.search(q, k: 3, threads: 1)
                _ = try index.search(q, radius: 2, threads: 1)
            }
        }
    }

    @Test func npyCodesFixturesFailCleanly() throws {
        for fixture in FuzzRegressions.fixtures("npycodes") {
            let bytes = [UInt8](try Data(contentsOf: fixture))
            FuzzRegressions.expectCleanError(fixture) { _ = try bytes.withUnsafeBytes { try NPYCodes.decode($0) } }
            let path = try FuzzRegressions.temporaryFile(bytes, name: "replay.npy")
            defer { unlink(path) }
            _ = try? NPYCodes.read(path, bits: 12)
        }
    }
}
