import Foundation

/// Runs a NumPy reference script from `tools/reference/` and returns its JSON answer.
///
/// The script reads one JSON object on standard input and writes one JSON object on standard output.
/// Tests use it to compare bihash's results with an independent re-computation (never with numbers
/// produced by the code under test).
public enum PythonReference {
    /// The repository root, found from this source file's location.
    public static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/_BihashTestSupport/PythonReference.swift
        return url
    }()

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `tools/reference/<script>` with `input` as JSON; returns the decoded JSON object.
    public static func run(_ script: String, input: [String: Any]) throws -> [String: Any] {
        let path = repoRoot.appendingPathComponent("tools/reference").appendingPathComponent(script).path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", path]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let data = try JSONSerialization.data(withJSONObject: input)
        // Write from another thread so a large answer cannot deadlock against a full input pipe.
        let writer = Thread {
            stdin.fileHandleForWriting.write(data)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(script) exited \(process.terminationStatus): \(String(decoding: err, as: UTF8.self))")
        }
        guard let object = try JSONSerialization.jsonObject(with: out) as? [String: Any] else {
            throw Failure(description: "\(script) did not print a JSON object")
        }
        return object
    }

    /// Reads a JSON number array as `[Double]`.
    public static func doubles(_ value: Any?) -> [Double] {
        (value as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue } ?? []
    }
}
