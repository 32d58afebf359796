import BihashCore
import Foundation
import Testing
import _BihashTestSupport
import BihashData

/// Where the fuzz targets' crash inputs are kept (tools/fuzz; one directory per target), and which test file
/// replays each target.
enum FuzzRegressions {
    static let root = PythonReference.repoRoot.appendingPathComponent("Tests/Fixtures/fuzz-regressions")
    /// Every fuzz target (tools/fuzz/Package.swift) and the test target whose FuzzRegressionTests replays it.
    static let replayedBy: [String: String] = [
        "npy": "BihashDataTests", "idx": "BihashDataTests", "image": "BihashDataTests",
        "codes": "BihashIndexTests", "index": "BihashIndexTests", "npycodes": "BihashIndexTests",
        "cabi-index": "BihashIndexTests", "safetensors": "BihashIOTests", "cabi-model": "BihashIOTests",
    ]

    /// The fixture files of `target` (none when the target never crashed).
    static func fixtures(_ target: String) -> [URL] {
        let dir = root.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    /// Copies `bytes` to a temporary file named `name` (readers that take a path, chosen by extension).
    static func temporaryFile(_ bytes: [UInt8], name: String) throws -> String {
        let path = NSTemporaryDirectory() + "bihash-fuzz-replay-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Replays every saved crash input of the npy, idx and image fuzz targets through the calls the targets make
/// (tools/fuzz/Sources/fuzz-*/): the reader must throw a `BihashError`, and nothing that follows may crash.
@Suite struct DataFuzzRegressionTests {
    @Test func everyFixtureDirectoryBelongsToAFuzzTarget() throws {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: FuzzRegressions.root.path)) ?? []
        for d in dirs where !d.hasPrefix(".") {
            #expect(FuzzRegressions.replayedBy[d] != nil, "Tests/Fixtures/fuzz-regressions/\(d) is replayed by no test")
        }
    }

    /// Fails the test unless `body` throws a BihashError.
    func expectCleanError(_ fixture: URL, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(fixture.lastPathComponent) was accepted; a crash fixture must be rejected")
        } catch is BihashError {
        } catch {
            Issue.record("\(fixture.lastPathComponent): not a BihashError: \(error)")
        }
    }

    @Test func npyFixturesFailCleanly() throws {
        for fixture in FuzzRegressions.fixtures("npy") {
            let bytes = [UInt8](try Data(contentsOf: fixture))
            expectCleanError(fixture) {
                let a = try NPY.decode(bytes)
                _ = a.floatTensor(); _ = try? a.floatMatrix(); _ = try? a.intValues(); _ = try? a.uint8Values()
            }
            let path = try FuzzRegressions.temporaryFile(bytes, name: "input.npy")
            defer { unlink(path) }
            expectCleanError(fixture) { _ = try NPY.read(path: path) }
            expectCleanError(fixture) { _ = try FeatureMatrix.load(path: path) }
            _ = try? FeatureMatrix.loadLabels(path: path)
        }
    }

    @Test func idxFixturesFailCleanly() throws {
        for fixture in FuzzRegressions.fixtures("idx") {
            let path = try FuzzRegressions.temporaryFile([UInt8](try Data(contentsOf: fixture)), name: "input-idx3-ubyte")
            defer { unlink(path) }
            expectCleanError(fixture) {
                let a = try IDXReader.read(path: path)
                _ = try? a.floatMatrix(scale: 1 / 255); _ = try? a.intValues(); _ = a.doubleValues()
            }
            expectCleanError(fixture) { _ = try FeatureMatrix.load(path: path) }
            _ = try? FeatureMatrix.loadLabels(path: path)
        }
    }

    @Test func imageFixturesFailCleanly() throws {
        for fixture in FuzzRegressions.fixtures("image") {
            let bytes = [UInt8](try Data(contentsOf: fixture))
            expectCleanError(fixture) {
                let image = try ImageDecoder.decode(bytes: bytes, source: fixture.lastPathComponent)
                _ = try ImageDecoder.inputRow(image, width: 28, height: 28, channels: 1)
                _ = try ImageDecoder.inputRow(image, width: 8, height: 5, channels: 3)
            }
        }
    }
}
