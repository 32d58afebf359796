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
    static let root = PythonReference.repoRoot.appendingPathComponent("Tests/Fixtures/fuzz-regressions")

    static func fixtures(_ target: String) -> [URL] {
        let dir = root.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
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

    @Test(arguments: ["safetensors", "cabi-model"])
    func modelFixturesFailCleanly(target: String) throws {
        for fixture in Self.fixtures(target) {
            let bytes = [UInt8](try Data(contentsOf: fixture))
            expectCleanError(fixture) {
                let model = try ModelFile.load(bytes: bytes)
                _ = try ModelFile.safetensors(for: model)
                _ = try ModelFile.fingerprint(model)
            }
            _ = try? SafetensorsFile(bytes: bytes)  // the container may be valid and the model not: no crash is all
            let path = NSTemporaryDirectory() + "bihash-fuzz-replay-\(getpid()).safetensors"
            defer { unlink(path) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            expectCleanError(fixture) { _ = try ModelFile.load(path: path) }
        }
    }
}
