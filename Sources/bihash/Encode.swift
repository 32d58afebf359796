import ArgumentParser
import CBihashABI
import Foundation

/// `bihash encode`: encodes images, `.npy` rows or a protocol part into a codes file.
struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode inputs into packed binary codes.",
        discussion: """
            INPUT is an image file (PNG or JPEG), a directory (every non-hidden file below it, recursively, \
            sorted by path, is read as an image), a feature matrix (.npy, or IDX: *-ubyte, *.idx, optionally \
            gzipped; items named path#row) or a protocol part such as fashion-mnist:query (items named \
            fashion-mnist:query#row; a bare protocol name means its query part). A file that cannot be \
            read as an image is reported by name on stderr and skipped (with --strict, it fails the command).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case bihash, npy }

    @Option(help: "Model file (safetensors).")
    var model: String

    @Option(help: "bihash (codes file) or npy (uint8 array N × ceil(K/8), names in FILE.names; needs -o).")
    var format: Format = .bihash

    @Flag(help: "Fail on the first unreadable or non-image file instead of skipping it.")
    var strict = false

    @Option(name: [.short, .customLong("output")], help: "Output file (default: stdout, bihash format only).")
    var output: String?

    @Argument(help: "Image files, directories of images, .npy matrices or protocol parts.")
    var inputs: [String]

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one INPUT") }
        if format == .npy && output == nil { throw ValidationError("--format npy needs -o FILE") }
    }

    func run() throws {
        if output == nil && isatty(STDOUT_FILENO) == 1 {
            throw Failure("refusing to write binary codes to a terminal; use -o FILE or redirect stdout")
        }
        let model = try loadModel(self.model)
        defer { bihash_model_free(model) }
        let bits = Int(bihash_model_bits(model))
        let progress = stderrIsTerminal

        var codes = [UInt8](), names = [String]()
        for input in inputs {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory)
            if exists && isDirectory.boolValue {
                let files = try imageFiles(in: input)
                let (c, n) = try encodeImages(model, files, bits: bits, progress: progress)
                codes += c
                names += n
            } else if exists && !isFeatureFile(input) {
                let (c, n) = try encodeImages(model, [input], bits: bits, progress: false)
                codes += c
                names += n
            } else {
                let source = DataSource(input, defaultPart: "query")
                if !exists && !source.isProtocol { throw Failure("\(input): no such file or directory") }
                let data = try source.load()
                defer { bihash_data_free(data) }
                codes += try encodeFeatures(model, data, label: input, progress: progress)
                names += (0..<bihash_data_rows(data)).map { "\(input)#\($0)" }
            }
        }
        guard !names.isEmpty else { throw Failure("no item was encoded") }

        let modelFingerprint = try fingerprint(of: model)
        let cNames = CStringArray(names)
        var result: OpaquePointer?
        try check(bihash_codes_new(Int32(bits), codes, names.count, modelFingerprint, cNames.pointers, &result))
        defer { bihash_codes_free(result) }
        switch (format, output) {
        case (.npy, let path?):
            try check(bihash_codes_save_npy(result, path), path)
        case (.bihash, let path?):
            try check(bihash_codes_save(result, path), path)
        default:
            var buffer: UnsafeMutableRawPointer?
            var size = 0
            try check(bihash_codes_serialize(result, &buffer, &size))
            defer { bihash_free(buffer) }
            if let buffer { FileHandle.standardOutput.write(Data(bytes: buffer, count: size)) }
        }
    }

    /// A feature matrix file rather than an image: `.npy`, or IDX (`*-ubyte`, `*.idx`, optionally `.gz`).
    func isFeatureFile(_ path: String) -> Bool {
        let name = path.lowercased()
        let base = name.hasSuffix(".gz") ? String(name.dropLast(3)) : name
        return base.hasSuffix(".npy") || base.hasSuffix("ubyte") || base.hasSuffix(".idx")
    }

    /// Every regular, non-hidden file below `directory` (recursively), sorted by path.
    func imageFiles(in directory: String) throws -> [String] {
        guard let subpaths = FileManager.default.subpaths(atPath: directory) else {
            throw Failure("\(directory): cannot list the directory")
        }
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        return subpaths.sorted().map { base + $0 }.filter { path in
            var isDirectory: ObjCBool = false
            let hidden = path.dropFirst(base.count).split(separator: "/").contains { $0.hasPrefix(".") }
            return !hidden && FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }
    }

    /// Encodes image files in chunks; failures are reported and skipped, or thrown with --strict.
    func encodeImages(_ model: OpaquePointer, _ files: [String], bits: Int,
                      progress: Bool) throws -> ([UInt8], [String]) {
        let bytes = codeBytes(bits)
        var codes = [UInt8](), names = [String]()
        let chunk = 64
        var start = 0
        while start < files.count {
            let batch = Array(files[start..<min(files.count, start + chunk)])
            let paths = CStringArray(batch)
            var out = [UInt8](repeating: 0, count: batch.count * bytes)
            if strict {
                try check(bihash_model_encode_images(model, paths.pointers, batch.count, &out, out.count, nil))
                codes += out
                names += batch
            } else {
                var ok = [Int32](repeating: 0, count: batch.count)
                try check(bihash_model_encode_images(model, paths.pointers, batch.count, &out, out.count, &ok))
                for i in batch.indices {
                    if ok[i] == 1 {
                        codes += out[(i * bytes)..<((i + 1) * bytes)]
                        names.append(batch[i])
                    } else {
                        printError("bihash: skipped \(batch[i]): \(reason(model, batch[i], bytes: bytes))\n")
                    }
                }
            }
            start += batch.count
            if progress { printError("\rimages: \(start)/\(files.count)") }
        }
        if progress && !files.isEmpty { printError("\n") }
        return (codes, names)
    }

    /// Why one image failed: re-encodes it alone in strict mode to get its own error message.
    func reason(_ model: OpaquePointer, _ file: String, bytes: Int) -> String {
        let paths = CStringArray([file])
        var out = [UInt8](repeating: 0, count: bytes)
        let status = bihash_model_encode_images(model, paths.pointers, 1, &out, out.count, nil)
        return status == 0 ? "not encoded" : String(cString: bihash_last_error())
    }
}
