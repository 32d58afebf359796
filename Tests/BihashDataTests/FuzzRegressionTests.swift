import BihashCore
import Foundation
import Testing
import _BihashTestSupport
import BihashData

/// Replays every saved crash input of the npy, idx and image fuzz targets through the calls the targets make
/// (tools/fuzz/Sources/fuzz-*/): the reader must throw a `BihashError`, and nothing that follows may crash.
@Suite struct DataFuzzRegressionTests {
    @Test func everyFixtureDirectoryBelongsToAFuzzTarget() throws {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: FuzzRegressions.root.path)) ?? []
        for d in dirs where !d.hasPrefix(".") {
            #expect(FuzzRegressions.replayedBy[d] != nil, "Tests/Fixtures/fuzz-regressions/\(d) is replayed by no test")
        }
    }

    @Test func npyFixturesFailCleanly() throws {
        for fixture in FuzzRegressions.fixtures("npy") {
            let bytes = [UInt8](try Data(contentsOf: fixture))
            FuzzRegressions.expectCleanError(fixture) {
                let a = try NPY.decode(bytes)
                _ = a.floatTensor(); _ = try? a.floatMatrix(); _ = try? a.intValues(); _ = try? a.uint8Values()
            }
            let path = try FuzzRegressions.temporaryFile(bytes, name: "input.npy")
            defer { unlink(path) }
            FuzzRegressions.expectCleanError(fixture) { _ = try NPY.read(path: path) }
            FuzzRegressions.expectCleanError(fixture) { _ = try FeatureMatrix.load(path: path) }
            _ = try? FeatureMatrix.loadLabels(path: path)
        }
    }

    @Test func idxFixturesFailCleanly() throws {
        for fixture in FuzzRegressions.fixtures("idx") {
            let path = try FuzzRegressions.temporaryFile([UInt8](try Data(contentsOf: fixture)), name: "input-idx3-ubyte")
            defer { unlink(path) }
            FuzzRegressions.expectCleanError(fixture) {
                let a = try IDXReader.read(path: path)
                _ = try? a.floatMatrix(scale: 1 / 255); _ = try? a.intValues(); _ = a.doubleValues()
            }
            FuzzRegressions.expectCleanError(fixture) { _ = try FeatureMatrix.load(path: path) }
            _ = try? FeatureMatrix.loadLabels(path: path)
        }
    }

    @Test func imageFixturesFailCleanly() throws {
        for fixture in FuzzRegressions.fixtures("image") {
            let bytes = [UInt8](try Data(contentsOf: fixture))
            FuzzRegressions.expectCleanError(fixture) {
                let image = try ImageDecoder.decode(bytes: bytes, source: fixture.lastPathComponent)
                _ = try ImageDecoder.inputRow(image, width: 28, height: 28, channels: 1)
                _ = try ImageDecoder.inputRow(image, width: 8, height: 5, channels: 3)
            }
        }
    }
}
