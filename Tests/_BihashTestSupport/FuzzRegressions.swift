import BihashCore
import Foundation
import Testing

/// The saved crash inputs of the fuzz targets (tools/fuzz; one directory per target under
/// `Tests/Fixtures/fuzz-regressions`), and what the three FuzzRegressionTests files need to replay them.
public enum FuzzRegressions {
    /// `Tests/Fixtures/fuzz-regressions`.
    public static let root = PythonReference.repoRoot.appendingPathComponent("Tests/Fixtures/fuzz-regressions")

    /// Every fuzz target (tools/fuzz/Package.swift) and the test target whose FuzzRegressionTests replays it.
    public static let replayedBy: [String: String] = [
        "npy": "BihashDataTests", "idx": "BihashDataTests", "image": "BihashDataTests",
        "codes": "BihashIndexTests", "index": "BihashIndexTests", "npycodes": "BihashIndexTests",
        "cabi-index": "BihashIndexTests", "safetensors": "BihashIOTests", "cabi-model": "BihashIOTests",
    ]

    /// The fixture files of `target`, sorted by name (none when the target never crashed).
    public static func fixtures(_ target: String) -> [URL] {
        let dir = root.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    /// Copies `bytes` to a new temporary file whose name ends in `name` (for readers that take a path and choose
    /// the format by extension); the caller unlinks it.
    public static func temporaryFile(_ bytes: [UInt8], name: String) throws -> String {
        let path = NSTemporaryDirectory() + "bihash-fuzz-replay-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Records a test issue unless `body` throws a `BihashError`: a crash fixture must be rejected cleanly.
    public static func expectCleanError(_ fixture: URL, sourceLocation: SourceLocation = #_sourceLocation,
                                        _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(fixture.lastPathComponent) was accepted; a crash fixture must be rejected",
                         sourceLocation: sourceLocation)
        } catch is BihashError {
        } catch {
            Issue.record("\(fixture.lastPathComponent): not a BihashError: \(error)", sourceLocation: sourceLocation)
        }
    }
}
