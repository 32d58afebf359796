import Foundation
import Testing
import BihashCore
import _BihashTestSupport
@testable import BihashIO

/// Replays every saved crash input of the safetensors and cabi-model fuzz targets
/// (Tests/Fixtures/fuzz-regressions/TARGET/): both reach the readers through libbihash
/// (bihash_model_load_from_memory, bihash_model_load), whose thunks call ModelFile.load(bytes:) / load(path:)
/// and then describe the model; here the same Swift calls must throw a `BihashError`.
@Suite struct IOFuzzRegressionTests {
    @Test(arguments: ["safetensors", "cabi-model"])
    func modelFixturesFailCleanly(target: String) throws {
        for fixture in FuzzRegressions.fixtures(target) {
            let bytes = [UInt8](try Data(contentsOf: fixture))
            FuzzRegressions.expectCleanError(fixture) {
                let model = try ModelFile.load(bytes: bytes)
                _ = try ModelFile.safetensors(for: model)
                _ = try ModelFile.fingerprint(model)
            }
            _ = try? SafetensorsFile(bytes: bytes)  // the container may be valid and the model not: no crash is all
            let path = try FuzzRegressions.temporaryFile(bytes, name: "input.safetensors")
            defer { unlink(path) }
            FuzzRegressions.expectCleanError(fixture) { _ = try ModelFile.load(path: path) }
        }
    }
}
