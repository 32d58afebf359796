import CBihashABI
import Foundation

/// A runtime failure: `main` prints it as `bihash: <message>` on stderr and exits with status 1.
struct Failure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Throws a `Failure` carrying `bihash_last_error()` (prefixed by `context`) unless `status` is BIHASH_OK.
func check(_ status: Int32, _ context: String? = nil) throws {
    guard status == 0 else {
        let message = String(cString: bihash_last_error())
        let text = message.isEmpty ? String(cString: bihash_status_string(status)) : message
        // The library's messages usually name the file or option already; the context is added only when not.
        guard let context, !text.contains(context) else { throw Failure(text) }
        throw Failure("\(context): \(text)")
    }
}

/// Writes `text` to stderr unbuffered.
func printError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

/// True when stderr is a terminal (progress lines are shown only then).
var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

/// Bytes of one packed K-bit code, as the header's BIHASH_CODE_BYTES (a function-like macro Swift cannot import).
func codeBytes(_ bits: Int) -> Int { (bits + 7) / 8 }

/// Lowercase hex of `bytes`.
func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// NUL-terminated copies of `strings` that stay valid until the array is released, for `const char *const *`.
final class CStringArray {
    let pointers: [UnsafePointer<CChar>?]
    init(_ strings: [String]) { pointers = strings.map { UnsafePointer(strdup($0)) } }
    deinit { for pointer in pointers { free(UnsafeMutablePointer(mutating: pointer)) } }
}

/// A feature source given on the command line: a file (`.npy`, IDX), or a protocol name with an optional
/// part (`fashion-mnist`, `fashion-mnist:query`).
struct DataSource {
    let argument: String
    let source: String
    let part: String?

    /// Existing files and anything that looks like a path are files; `name` or `name:part` (letters, digits,
    /// `-`, `_`) is a protocol, whose part defaults to `defaultPart`.
    init(_ argument: String, defaultPart: String) {
        self.argument = argument
        let protocolPattern = argument.range(of: "^[A-Za-z0-9_-]+(:[A-Za-z0-9_-]+)?$", options: .regularExpression)
        if FileManager.default.fileExists(atPath: argument) || protocolPattern == nil {
            source = argument
            part = nil
        } else if let colon = argument.firstIndex(of: ":") {
            source = String(argument[..<colon])
            part = String(argument[argument.index(after: colon)...])
        } else {
            source = argument
            part = defaultPart
        }
    }

    var isProtocol: Bool { part != nil }

    /// True when the argument names an existing directory (of images).
    var isDirectory: Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: argument, isDirectory: &isDir) && isDir.boolValue
    }

    /// Loads the data through `bihash_data_load`, or `bihash_data_load_images` (as `imageSize`² × `channels` rows)
    /// for a directory; the caller frees it with `bihash_data_free`.
    func load(imageSize: Int = 28, channels: Int = 1) throws -> OpaquePointer {
        var data: OpaquePointer?
        if isDirectory {
            let side = Int32(clamping: imageSize)
            try check(bihash_data_load_images(argument, side, side, Int32(clamping: channels), &data), argument)
            guard let data else { throw Failure("\(argument): bihash_data_load_images returned no data") }
            return data
        }
        let status = bihash_data_load(source, part, &data)
        if status != 0 && isProtocol && !argument.contains(":") {
            // A bare word that is neither a file nor a protocol: say both.
            throw Failure("\(argument): no such file; as a protocol name: \(String(cString: bihash_last_error()))")
        }
        try check(status, part.map { "\(source):\($0)" } ?? source)
        guard let data else { throw Failure("\(argument): bihash_data_load returned no data") }
        return data
    }
}

/// Loads a model file; the caller frees it with `bihash_model_free`.
func loadModel(_ path: String) throws -> OpaquePointer {
    var model: OpaquePointer?
    try check(bihash_model_load(path, &model), path)
    guard let model else { throw Failure("\(path): bihash_model_load returned no model") }
    return model
}

/// Loads a codes file or a `.npy` uint8 array (`bits` = 0: the file's width, or 8 × columns for `.npy`).
func loadCodes(_ path: String, bits: Int) throws -> OpaquePointer {
    var codes: OpaquePointer?
    try check(bihash_codes_load(path, Int32(clamping: bits), &codes), path)
    guard let codes else { throw Failure("\(path): bihash_codes_load returned no codes") }
    return codes
}

/// One of the model's description strings ("method", "input", "arch", "metadata").
func describe(_ model: OpaquePointer, _ what: String) throws -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    var needed = 0
    var status = bihash_model_describe(model, what, &buffer, buffer.count, &needed)
    if status == 9 /* BIHASH_ERR_BUFFER_TOO_SMALL */ {
        buffer = [CChar](repeating: 0, count: needed + 1)
        status = bihash_model_describe(model, what, &buffer, buffer.count, &needed)
    }
    try check(status, "model \(what)")
    return String(cString: buffer)
}

/// The model's SHA-256 fingerprint.
func fingerprint(of model: OpaquePointer) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: Int(BIHASH_FINGERPRINT_BYTES))
    try check(bihash_model_fingerprint(model, &bytes), "model fingerprint")
    return bytes
}

/// The fingerprint stored with codes, or nil when they carry none.
func fingerprint(ofCodes codes: OpaquePointer) -> [UInt8]? {
    var bytes = [UInt8](repeating: 0, count: Int(BIHASH_FINGERPRINT_BYTES))
    return bihash_codes_fingerprint(codes, &bytes) == 0 ? bytes : nil
}

/// Encodes `rows` feature rows of `data` (all rows) with `model`, in chunks, showing progress when asked.
func encodeFeatures(_ model: OpaquePointer, _ data: OpaquePointer, label: String, progress: Bool) throws -> [UInt8] {
    let rows = bihash_data_rows(data), cols = bihash_data_cols(data)
    let bytes = codeBytes(Int(bihash_model_bits(model)))
    var codes = [UInt8](repeating: 0, count: rows * bytes)
    guard rows > 0 else { return codes }
    guard let features = bihash_data_features(data) else { throw Failure("\(label): no features") }
    // Image rows of another shape than the model's image input (e.g. Fashion-MNIST's 28×28×1 for a model with a
    // 96×96×3 backbone) are converted by the library, as image files would be.
    var dw: Int32 = 0, dh: Int32 = 0, dc: Int32 = 0, mw: Int32 = 0, mh: Int32 = 0, mc: Int32 = 0
    try check(bihash_data_image_shape(data, &dw, &dh, &dc), label)
    try check(bihash_model_image_shape(model, &mw, &mh, &mc), label)
    let convert = dw > 0 && mw > 0 && (dw, dh, dc) != (mw, mh, mc)
    let chunk = convert ? 1024 : 8192
    var start = 0
    while start < rows {
        let count = min(chunk, rows - start)
        let status = codes.withUnsafeMutableBufferPointer { buffer in
            convert
                ? bihash_model_encode_pixels(model, features + start * cols, count, dw, dh, dc,
                                             buffer.baseAddress! + start * bytes, count * bytes)
                : bihash_model_encode(model, features + start * cols, count, cols,
                                      buffer.baseAddress! + start * bytes, count * bytes)
        }
        try check(status, label)
        start += count
        if progress { printError("\r\(label): \(start)/\(rows) rows encoded") }
    }
    if progress { printError("\n") }
    return codes
}

/// Writes `value` as pretty JSON with sorted keys to stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    FileHandle.standardOutput.write(try encoder.encode(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
}
