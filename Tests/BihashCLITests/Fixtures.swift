import Foundation

/// Small inputs written by the tests themselves.
enum Fixtures {
    /// A fresh temporary directory.
    static func directory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("bihash-cli-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes a C-order `.npy` (format 1.0) with dtype `descr` ("<f4", "<i8", "|u1") and `shape`.
    static func writeNpy(_ url: URL, descr: String, shape: [Int], bytes: Data) throws {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var file = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        file.append(contentsOf: [UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        file.append(Data(header.utf8))
        file.append(bytes)
        try file.write(to: url)
    }

    /// `rows` × `dim` float32 features in `classes` well-separated clusters (seeded), and their int64 labels.
    static func clusters(rows: Int, dim: Int, classes: Int, in directory: URL) throws -> (features: URL, labels: URL) {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func uniform() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24)
        }
        let centers = (0..<classes).map { _ in (0..<dim).map { _ in uniform() * 8 - 4 } }
        var features = [Float](), labels = [Int64]()
        for row in 0..<rows {
            let label = row % classes
            labels.append(Int64(label))
            features += centers[label].map { $0 + uniform() - 0.5 }
        }
        let featuresURL = directory.appendingPathComponent("features.npy")
        let labelsURL = directory.appendingPathComponent("labels.npy")
        try writeNpy(featuresURL, descr: "<f4", shape: [rows, dim], bytes: features.withUnsafeBytes { Data($0) })
        try writeNpy(labelsURL, descr: "<i8", shape: [rows], bytes: labels.withUnsafeBytes { Data($0) })
        return (featuresURL, labelsURL)
    }

    /// True when `python3 -c "import <module>"` succeeds.
    static func pythonHas(_ module: String) -> Bool {
        (try? python("import \(module)").status) == 0
    }

    /// Runs a Python snippet; returns its exit status and stdout.
    static func python(_ code: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", code]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Fashion-MNIST from Debian's dataset-fashion-mnist, when installed.
    static var hasFashionMNIST: Bool {
        FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    }
}
