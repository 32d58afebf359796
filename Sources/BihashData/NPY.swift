import BihashCore

/// Element types bihash reads from and writes to NPY files (the `descr` of the header without its byte-order mark).
public enum NPYDataType: String, Sendable, CaseIterable, CustomStringConvertible {
    /// IEEE float32 (`<f4`): feature matrices.
    case float32 = "f4"
    /// IEEE float64 (`<f8`): feature matrices (converted to Float on load).
    case float64 = "f8"
    /// Unsigned byte (`|u1`): packed codes, images.
    case uint8 = "u1"
    /// Signed byte (`|i1`).
    case int8 = "i1"
    /// 16-bit signed integer (`<i2`).
    case int16 = "i2"
    /// 32-bit signed integer (`<i4`): labels.
    case int32 = "i4"
    /// 64-bit signed integer (`<i8`): labels (NumPy's default integer type).
    case int64 = "i8"
    /// Boolean, one byte (`|b1`): multi-hot label matrices.
    case bool = "b1"

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .int16: return 2
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        }
    }

    /// True for the integer and boolean types.
    public var isInteger: Bool { self != .float32 && self != .float64 }

    /// The `descr` string bihash writes: `<` for multi-byte types, `|` for single bytes.
    public var descr: String { (byteWidth == 1 ? "|" : "<") + rawValue }

    public var description: String { descr }
}

/// An array read from (or to be written to) an NPY file: element type, shape, and little-endian payload.
public struct NPYArray: Sendable, Equatable {
    /// Element type.
    public let dataType: NPYDataType
    /// Dimensions, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// `count * dataType.byteWidth` bytes in C (row-major) order, little-endian (big-endian files are swapped on load).
    public let payload: [UInt8]
    /// The file this array came from (used in error messages).
    public let source: String

    /// Number of elements (product of `shape`).
    public var count: Int { payload.count / dataType.byteWidth }

    /// Wraps a payload; throws unless its length matches `shape` and `dataType`.
    /// - Throws: `BihashError.invalidArgument` for a negative dimension, a shape whose non-zero dimensions multiply
    ///   past `Int` (even when another dimension is 0), or a payload of the wrong length.
    public init(dataType: NPYDataType, shape: [Int], payload: [UInt8], source: String = "<memory>") throws {
        try require(shape.allSatisfy { $0 >= 0 }, "NPY shape \(shape) has a negative dimension")
        let bytes = NPY.byteCount(shape: shape, width: dataType.byteWidth)
        try require(bytes != nil && bytes == payload.count,
                    "NPY array of shape \(shape) and dtype \(dataType) needs \(bytes.map(String.init) ?? "too many (the shape overflows)") bytes, got \(payload.count)")
        self.dataType = dataType
        self.shape = shape
        self.payload = payload
        self.source = source
    }

    /// The array as a `Tensor<Float>` of the same shape. float64 is rounded to float32; integer types convert exactly
    /// up to 2^24.
    public func floatTensor() -> Tensor<Float> {
        var out = [Float](repeating: 0, count: count)
        payload.withUnsafeBytes { raw in
            switch dataType {
            case .float32:
                for i in 0..<out.count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .float64:
                for i in 0..<out.count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            default:
                for i in 0..<out.count { out[i] = Float(integer(raw, i)) }
            }
        }
        return Tensor(uncheckedShape: shape, scalars: out)
    }

    /// The array as a float matrix [shape[0], product of the other dimensions]; a 1-D array becomes [N, 1].
    /// - Throws: `BihashError.invalidFormat` for a 0-dimensional array.
    public func floatMatrix() throws -> Tensor<Float> {
        guard let n = shape.first else {
            throw BihashError.invalidFormat("'\(source)': a 0-dimensional NPY array is not a matrix")
        }
        var t = floatTensor()
        t.shape = [n, shape.dropFirst().reduce(1, *)]
        return t
    }

    /// The elements of a `uint8` (or `bool`) array.
    /// - Throws: `BihashError.invalidFormat` for other types.
    public func uint8Values() throws -> [UInt8] {
        guard dataType == .uint8 || dataType == .bool else {
            throw BihashError.invalidFormat("'\(source)': expected dtype |u1, found \(dataType)")
        }
        return payload
    }

    /// The elements of an integer or boolean array as `Int`.
    /// - Throws: `BihashError.invalidFormat` for float arrays.
    public func intValues() throws -> [Int] {
        guard dataType.isInteger else {
            throw BihashError.invalidFormat(
                "'\(source)': expected an integer dtype (|u1, |i1, <i2, <i4, <i8, |b1), found \(dataType)")
        }
        return payload.withUnsafeBytes { raw in (0..<count).map { integer(raw, $0) } }
    }

    private func integer(_ raw: UnsafeRawBufferPointer, _ i: Int) -> Int {
        switch dataType {
        case .uint8, .bool: return Int(raw[i])
        case .int8: return Int(Int8(bitPattern: raw[i]))
        case .int16: return Int(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
        case .int32: return Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case .int64: return Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        case .float32, .float64: return 0
        }
    }
}

/// Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0; C order).
///
/// The reader validates the magic string, version, header dictionary (`descr`, `fortran_order`, `shape` and nothing
/// else), the dtype, and the payload length against the file length **before** allocating the payload, so a file
/// whose header lies about its shape is rejected cheaply. Limits: a header of at most `maxHeaderLength` bytes
/// (1 MiB), nesting depth 8 in the header literal, and a shape whose non-zero dimensions times the element width
/// fit `Int` (checked arithmetic; `limitExceeded` otherwise). Fortran-ordered arrays of rank ≥ 2 are rejected (rank 0
/// and 1 have the same layout in both orders and are accepted). Big-endian files are byte-swapped.
///
/// The writer emits version 1.0 (2.0 if the header would not fit), headers padded to 64 bytes as NumPy does, and
/// replaces the destination atomically.
///
/// ```swift
/// try NPY.write(features, to: "/tmp/x.npy")            // Tensor<Float> → <f4
/// let x = try NPY.read(path: "/tmp/x.npy").floatTensor()
/// try NPY.write(codes, to: "/tmp/codes.npy")           // PackedCodes → |u1 [N, ⌈K/8⌉]
/// ```
public enum NPY {
    /// The six magic bytes `\x93NUMPY`.
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    /// Largest header accepted (NumPy itself refuses headers over 10,000 bytes by default), checked before the
    /// header is read.
    public static let maxHeaderLength = 1 << 20

    /// Bytes of an array of `shape` with elements of `width` bytes, or nil when the product of the **non-zero**
    /// dimensions times `width` overflows `Int`. Zeros are skipped so that a shape such as (0, 2^62, 2^62), which
    /// holds no element, cannot later overflow a product of a subset of its dimensions (`floatMatrix`'s columns).
    static func byteCount(shape: [Int], width: Int) -> Int? {
        var nonZero = width, hasZero = false
        for d in shape {
            if d == 0 { hasZero = true; continue }
            let (p, o) = nonZero.multipliedReportingOverflow(by: d)
            if o { return nil }
            nonZero = p
        }
        return hasZero ? 0 : nonZero
    }

    // MARK: - Reading

    /// Reads the NPY file at `path`.
    /// - Throws: `BihashError.io` (missing or unreadable file), `BihashError.invalidFormat` (bad magic, version,
    ///   header, unsupported dtype, Fortran order, truncated or over-long data), `BihashError.limitExceeded` (a shape
    ///   that overflows, an oversized header). Messages name `path`.
    public static func read(path: String) throws -> NPYArray {
        let file = try InputFile(path: path)
        let pre = try file.read(count: 10, at: 0, what: "the NPY preamble (magic, version, header length)")
        let (header, dataOffset) = try parsePreamble(pre, path: path) { count, offset in
            try file.read(count: count, at: offset, what: "the NPY header")
        }
        let (dataType, swap, shape, payloadSize) = try parseHeader(header, path: path)
        let available = file.size - dataOffset
        if available < payloadSize {
            throw BihashError.invalidFormat(
                "'\(path)' is truncated: the NPY header says shape \(shape) of \(dataType) = \(payloadSize) data bytes, the file has \(available)")
        }
        if available > payloadSize {
            throw BihashError.invalidFormat(
                "'\(path)' is longer than its NPY header says: shape \(shape) of \(dataType) = \(payloadSize) data bytes, the file has \(available)")
        }
        var payload = try file.read(count: payloadSize, at: dataOffset, what: "the NPY data")
        if swap { byteSwap(&payload, width: dataType.byteWidth) }
        return try NPYArray(dataType: dataType, shape: shape, payload: payload, source: path)
    }

    /// Decodes an NPY file already in memory (`source` names it in error messages).
    public static func decode(_ bytes: [UInt8], source: String = "<memory>") throws -> NPYArray {
        func slice(_ count: Int, _ offset: Int) throws -> [UInt8] {
            guard offset <= bytes.count, count <= bytes.count - offset else {
                throw BihashError.invalidFormat("'\(source)' is truncated: the NPY header needs \(offset + count) bytes, got \(bytes.count)")
            }
            return Array(bytes[offset..<(offset + count)])
        }
        let (header, dataOffset) = try parsePreamble(try slice(10, 0), path: source, readBytes: slice)
        let (dataType, swap, shape, payloadSize) = try parseHeader(header, path: source)
        let available = bytes.count - dataOffset
        guard available == payloadSize else {
            throw BihashError.invalidFormat(available < payloadSize
                ? "'\(source)' is truncated: the NPY header says shape \(shape) of \(dataType) = \(payloadSize) data bytes, found \(available)"
                : "'\(source)' is longer than its NPY header says: shape \(shape) of \(dataType) = \(payloadSize) data bytes, found \(available)")
        }
        var payload = Array(bytes[dataOffset...])
        if swap { byteSwap(&payload, width: dataType.byteWidth) }
        return try NPYArray(dataType: dataType, shape: shape, payload: payload, source: source)
    }

    /// Reads a `uint8` NPY matrix [N, ⌈bits/8⌉] of packed codes (MSB-first, as `numpy.packbits`).
    /// - Throws: `BihashError.invalidFormat` if the dtype, rank, width or padding bits do not fit `bits`.
    public static func readPackedCodes(path: String, bits: Int) throws -> PackedCodes {
        try PackedCodes.validateBits(bits)
        let array = try read(path: path)
        let bytesPerCode = (bits + 7) / 8
        guard array.dataType == .uint8, array.shape.count == 2, array.shape[1] == bytesPerCode else {
            throw BihashError.invalidFormat(
                "'\(path)': expected packed \(bits)-bit codes, a |u1 array of shape [N, \(bytesPerCode)], found \(array.dataType) \(array.shape)")
        }
        do {
            return try PackedCodes(bits: bits, count: array.shape[0], bytes: array.payload)
        } catch let error as BihashError {
            throw BihashError.invalidFormat("'\(path)': \(error.message)")
        }
    }

    private static func parsePreamble(_ pre: [UInt8], path: String, readBytes: (Int, Int) throws -> [UInt8])
        throws -> (header: String, dataOffset: Int) {
        guard Array(pre[0..<6]) == magic else {
            throw BihashError.invalidFormat("'\(path)' is not an NPY file: it does not start with the magic string \\x93NUMPY")
        }
        let major = pre[6], minor = pre[7]
        let lengthBytes: Int
        switch (major, minor) {
        case (1, 0): lengthBytes = 2
        case (2, 0), (3, 0): lengthBytes = 4
        default:
            throw BihashError.invalidFormat("'\(path)': unsupported NPY format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)")
        }
        let raw = lengthBytes == 2 ? Array(pre[8..<10]) : try readBytes(4, 8)
        let headerLength = raw.reversed().reduce(0) { $0 << 8 | Int($1) }
        if headerLength > maxHeaderLength {
            throw BihashError.limitExceeded("'\(path)': NPY header of \(headerLength) bytes exceeds the limit of \(maxHeaderLength)")
        }
        let start = 8 + lengthBytes
        let headerBytes = try readBytes(headerLength, start)
        let text: String
        if major == 3 {
            guard let s = String(validating: headerBytes, as: UTF8.self) else {
                throw BihashError.invalidFormat("'\(path)': NPY 3.0 header is not valid UTF-8")
            }
            text = s
        } else {
            guard headerBytes.allSatisfy({ $0 < 0x80 }) else {
                throw BihashError.invalidFormat("'\(path)': NPY \(major).0 header is not ASCII")
            }
            text = String(decoding: headerBytes, as: UTF8.self)
        }
        return (text, start + headerLength)
    }

    private static func parseHeader(_ header: String, path: String)
        throws -> (NPYDataType, swap: Bool, shape: [Int], payloadSize: Int) {
        var parser = PythonLiteralParser(text: header, path: path)
        let value = try parser.parseTopLevel()
        guard case .dict(let entries) = value else {
            throw BihashError.invalidFormat("'\(path)': NPY header is not a dictionary: \(header)")
        }
        let keys = Set(entries.map(\.0))
        guard keys == ["descr", "fortran_order", "shape"], entries.count == 3 else {
            throw BihashError.invalidFormat(
                "'\(path)': NPY header must have exactly the keys descr, fortran_order, shape; found \(entries.map(\.0).sorted())")
        }
        let dict = Dictionary(entries, uniquingKeysWith: { a, _ in a })
        guard case .string(let descr)? = dict["descr"] else {
            throw BihashError.invalidFormat(
                "'\(path)': NPY descr must be a simple dtype string such as '<f4'; structured dtypes are not supported (found \(dict["descr"].map { "\($0)" } ?? "nothing"))")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else {
            throw BihashError.invalidFormat("'\(path)': NPY fortran_order must be True or False")
        }
        guard case .tuple(let dims)? = dict["shape"] else {
            throw BihashError.invalidFormat("'\(path)': NPY shape must be a tuple of integers")
        }
        var shape = [Int]()
        for d in dims {
            guard case .int(let v) = d, v >= 0 else {
                throw BihashError.invalidFormat("'\(path)': NPY shape must be a tuple of non-negative integers, found \(dims)")
            }
            shape.append(v)
        }
        if fortran && shape.count >= 2 {
            throw BihashError.invalidFormat(
                "'\(path)': fortran_order: True (column-major) arrays are not supported; save a C-ordered array (np.ascontiguousarray)")
        }
        // descr: byte-order mark + kind + width.
        let supported = NPYDataType.allCases.map(\.descr).joined(separator: ", ")
        guard let mark = descr.first, "<>|=".contains(mark),
              let dataType = NPYDataType(rawValue: String(descr.dropFirst())) else {
            throw BihashError.invalidFormat("'\(path)': unsupported NPY dtype '\(descr)' (supported: \(supported))")
        }
        let swap = mark == ">" && dataType.byteWidth > 1
        guard let bytes = byteCount(shape: shape, width: dataType.byteWidth) else {
            throw BihashError.limitExceeded("'\(path)': NPY shape \(shape) of \(dataType) overflows the byte count")
        }
        return (dataType, swap, shape, bytes)
    }

    private static func byteSwap(_ bytes: inout [UInt8], width: Int) {
        var i = 0
        while i < bytes.count {
            var a = i, b = i + width - 1
            while a < b { bytes.swapAt(a, b); a += 1; b -= 1 }
            i += width
        }
    }

    // MARK: - Writing

    /// Encodes an array as NPY bytes (version 1.0, or 2.0 when the header does not fit 65,535 bytes).
    public static func encode(_ array: NPYArray) -> [UInt8] {
        let dims = array.shape.map(String.init)
        let shapeText = dims.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
        let dict = "{'descr': '\(array.dataType.descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        func build(version: UInt8) -> [UInt8] {
            let lengthBytes = version == 1 ? 2 : 4
            let prefix = 6 + 2 + lengthBytes
            var headerLength = dict.utf8.count + 1
            headerLength += (64 - (prefix + headerLength) % 64) % 64
            var out = magic + [version, 0]
            for b in 0..<lengthBytes { out.append(UInt8((headerLength >> (8 * b)) & 0xFF)) }
            out.append(contentsOf: Array(dict.utf8))
            out.append(contentsOf: [UInt8](repeating: 0x20, count: headerLength - dict.utf8.count - 1))
            out.append(0x0A)
            out.append(contentsOf: array.payload)
            return out
        }
        return dict.utf8.count + 1 + 63 <= 65535 ? build(version: 1) : build(version: 2)
    }

    /// Writes `array` to `path` (atomically: temporary file, then rename).
    /// - Throws: `BihashError.io` naming `path` if the file cannot be written.
    public static func write(_ array: NPYArray, to path: String) throws {
        try writeFileAtomically(encode(array), to: path)
    }

    /// Writes a float tensor as `<f4` with the tensor's shape.
    public static func write(_ tensor: Tensor<Float>, to path: String) throws {
        var payload = [UInt8](repeating: 0, count: tensor.count * 4)
        payload.withUnsafeMutableBytes { raw in
            for (i, v) in tensor.scalars.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        try write(NPYArray(dataType: .float32, shape: tensor.shape, payload: payload, source: path), to: path)
    }

    /// Writes a double tensor as `<f8` with the tensor's shape.
    public static func write(_ tensor: Tensor<Double>, to path: String) throws {
        var payload = [UInt8](repeating: 0, count: tensor.count * 8)
        payload.withUnsafeMutableBytes { raw in
            for (i, v) in tensor.scalars.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
        }
        try write(NPYArray(dataType: .float64, shape: tensor.shape, payload: payload, source: path), to: path)
    }

    /// Writes bytes as `|u1` with `shape` (whose element count must equal `values.count`).
    public static func write(uint8 values: [UInt8], shape: [Int], to path: String) throws {
        try write(NPYArray(dataType: .uint8, shape: shape, payload: values, source: path), to: path)
    }

    /// Writes integers as `<i8` with `shape` (labels).
    public static func write(int64 values: [Int], shape: [Int], to path: String) throws {
        var payload = [UInt8](repeating: 0, count: values.count * 8)
        payload.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: Int64(v).littleEndian, toByteOffset: 8 * i, as: Int64.self) }
        }
        try write(NPYArray(dataType: .int64, shape: shape, payload: payload, source: path), to: path)
    }

    /// Writes packed codes as a `|u1` matrix [count, ⌈bits/8⌉] (readable by `numpy.unpackbits(…, axis=1)[:, :bits]`).
    public static func write(_ codes: PackedCodes, to path: String) throws {
        try write(uint8: codes.bytes, shape: [codes.count, codes.bytesPerCode], to: path)
    }
}

/// The subset of Python literal syntax that NPY headers use: dicts, tuples, lists, strings, ints, True/False/None.
struct PythonLiteralParser {
    indirect enum Value: CustomStringConvertible {
        case dict([(String, Value)])
        case tuple([Value])
        case list([Value])
        case string(String)
        case int(Int)
        case bool(Bool)
        case none

        var description: String {
            switch self {
            case .dict(let e): return "{" + e.map { "'\($0.0)': \($0.1)" }.joined(separator: ", ") + "}"
            case .tuple(let v): return "(" + v.map(\.description).joined(separator: ", ") + (v.count == 1 ? ",)" : ")")
            case .list(let v): return "[" + v.map(\.description).joined(separator: ", ") + "]"
            case .string(let s): return "'\(s)'"
            case .int(let i): return String(i)
            case .bool(let b): return b ? "True" : "False"
            case .none: return "None"
            }
        }
    }

    let chars: [Character]
    let text: String
    let path: String
    var pos = 0

    init(text: String, path: String) {
        self.text = text
        self.chars = Array(text)
        self.path = path
    }

    private func fail(_ what: String) -> BihashError {
        .invalidFormat("'\(path)': cannot parse the NPY header (\(what) at character \(pos)): \(text.trimmingTrailingWhitespace())")
    }

    private mutating func skipSpace() {
        while pos < chars.count, chars[pos].isWhitespace { pos += 1 }
    }

    mutating func parseTopLevel() throws -> Value {
        let v = try parseValue(depth: 0)
        skipSpace()
        if pos != chars.count { throw fail("unexpected text after the dictionary") }
        return v
    }

    private mutating func expect(_ c: Character) throws {
        skipSpace()
        guard pos < chars.count, chars[pos] == c else { throw fail("expected '\(c)'") }
        pos += 1
    }

    /// Parses comma-separated items up to `close`, allowing a trailing comma. Returns the items and whether a
    /// comma was seen (a one-element tuple needs it).
    private mutating func parseSequence<T>(close: Character, item: (inout PythonLiteralParser) throws -> T) throws -> ([T], Bool) {
        var items = [T]()
        var sawComma = false
        while true {
            skipSpace()
            guard pos < chars.count else { throw fail("unterminated '\(close == ")" ? "(" : close == "]" ? "[" : "{")'") }
            if chars[pos] == close { pos += 1; return (items, sawComma) }
            items.append(try item(&self))
            skipSpace()
            guard pos < chars.count else { throw fail("unterminated sequence") }
            if chars[pos] == "," { pos += 1; sawComma = true } else if chars[pos] != close { throw fail("expected ',' or '\(close)'") }
        }
    }

    private mutating func parseValue(depth: Int) throws -> Value {
        if depth > 8 { throw fail("nesting too deep") }
        skipSpace()
        guard pos < chars.count else { throw fail("unexpected end") }
        let c = chars[pos]
        switch c {
        case "{":
            pos += 1
            let (entries, _) = try parseSequence(close: "}") { p -> (String, Value) in
                guard case .string(let key) = try p.parseValue(depth: depth + 1) else { throw p.fail("dictionary keys must be strings") }
                try p.expect(":")
                return (key, try p.parseValue(depth: depth + 1))
            }
            return .dict(entries)
        case "(":
            pos += 1
            let (items, comma) = try parseSequence(close: ")") { try $0.parseValue(depth: depth + 1) }
            if items.count == 1 && !comma { return items[0] }  // parenthesised expression
            return .tuple(items)
        case "[":
            pos += 1
            return .list(try parseSequence(close: "]") { try $0.parseValue(depth: depth + 1) }.0)
        case "'", "\"":
            pos += 1
            var s = ""
            while pos < chars.count, chars[pos] != c {
                if chars[pos] == "\\" { throw fail("escape sequences are not supported in header strings") }
                s.append(chars[pos]); pos += 1
            }
            guard pos < chars.count else { throw fail("unterminated string") }
            pos += 1
            return .string(s)
        default:
            var word = ""
            while pos < chars.count, chars[pos].isLetter || chars[pos].isNumber || chars[pos] == "_" || chars[pos] == "-" {
                word.append(chars[pos]); pos += 1
            }
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default:
                var digits = Substring(word)
                if digits.hasSuffix("L") { digits = digits.dropLast() }  // Python 2 long literals
                guard !digits.isEmpty, let v = Int(digits) else {
                    throw fail(word.isEmpty ? "unexpected character '\(c)'" : "unexpected word '\(word)'")
                }
                return .int(v)
            }
        }
    }
}

extension String {
    fileprivate func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
