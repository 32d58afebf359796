import Foundation

/// Runs the built `bihash` / `bihash-export` executables, found beside the test bundle (as swift-argument-parser's
/// `AssertExecuteCommand` does) or under `.build/debug`.
enum CLI {
    struct Result {
        let status: Int32
        let stdout: Data
        let stderr: String
        var output: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// The directory holding the built products.
    static let productsDirectory: URL = {
        let bundle = Bundle.main.bundleURL
        for candidate in [bundle, bundle.deletingLastPathComponent()]
        where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("bihash-cli").path) {
            return candidate
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug")
    }()

    /// The built file of `tool`: the `bihash` CLI's product is `bihash-cli` (see Package.swift).
    static func executable(_ tool: String) -> URL {
        productsDirectory.appendingPathComponent(tool == "bihash" ? "bihash-cli" : tool)
    }

    /// Runs `tool` with `arguments` in `directory`, waiting for it; stdout and stderr are captured.
    static func run(_ tool: String = "bihash", _ arguments: [String], in directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable(tool)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes while the process runs so that neither fills up.
        let stderrBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            stderrBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: stdoutData,
                      stderr: String(decoding: stderrBox.data, as: UTF8.self))
    }

    /// Holds the stderr bytes read on another thread (written once, read after `group.wait()`).
    private final class Box: @unchecked Sendable {
        var data = Data()
    }
}
