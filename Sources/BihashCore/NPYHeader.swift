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

/// The validated header of a NumPy `.npy` file (format versions 1.0, 2.0 and 3.0): the one NPY header parser of
/// bihash, shared by BihashData's `NPY` (general arrays) and BihashIndex's `NPYCodes` (packed codes).
///
/// Parsing checks the magic string, the version, the header length against a limit **before** the header is read,
/// the header dictionary (`descr`, `fortran_order`, `shape` and nothing else, nesting depth at most 8), the dtype
/// (`NPYDataType`, any byte-order mark), the order (Fortran-ordered arrays of rank ≥ 2 are rejected; rank 0 and 1
/// have the same layout in both orders) and that the shape's non-zero dimensions times the element width fit `Int`.
/// The payload is not read: callers compare its length with `payloadByteCount` (`validatePayloadLength`) before
/// they allocate it, so a header that lies about its shape is rejected cheaply.
///
/// ```swift
/// let header = try bytes.withUnsafeBytes { try NPYHeader(bytes: $0, source: "x.npy") }
/// try header.validatePayloadLength(bytes.count - header.dataOffset, source: "x.npy")
/// ```
public struct NPYHeader: Sendable, Equatable {
    /// The six magic bytes `\x93NUMPY`.
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    /// Largest header accepted by default (NumPy itself refuses headers over 10,000 bytes by default), checked
    /// before the header is read.
    public static let maxHeaderLength = 1 << 20

    /// Element type.
    public let dataType: NPYDataType
    /// True when the payload is big-endian multi-byte data (`>` mark) that must be byte-swapped.
    public let isByteSwapped: Bool
    /// The header's `fortran_order` (only ever true for rank 0 or 1, where it changes nothing).
    public let fortranOrder: Bool
    /// Dimensions, outermost first; `[]` for a scalar. Every dimension is ≥ 0.
    public let shape: [Int]
    /// Where the payload starts: magic, version, header length and header.
    public let dataOffset: Int
    /// Bytes the payload must have: the product of `shape` times the element width (0 if a dimension is 0).
    public let payloadByteCount: Int

    /// Parses the header through `read`, which returns exactly `count` bytes at `offset` or throws (a truncation
    /// error naming the input); `what` says which part is being read.
    /// - Parameters:
    ///   - source: names the input in error messages (a path, or a description such as `<memory>`).
    ///   - maxHeaderLength: the largest header accepted.
    /// - Throws: `BihashError.invalidFormat` (bad magic, version, header, dtype, Fortran order; and whatever `read`
    ///   throws), `BihashError.limitExceeded` (a header over `maxHeaderLength`, a shape whose byte count overflows).
    public init(source: String, maxHeaderLength: Int = NPYHeader.maxHeaderLength,
                read: (_ count: Int, _ offset: Int, _ what: String) throws -> [UInt8]) throws {
        let pre = try read(10, 0, "the NPY preamble (magic, version, header length)")
        guard Array(pre[0..<6]) == Self.magic else {
            throw BihashError.invalidFormat("'\(source)' is not an NPY file: it does not start with the magic string \\x93NUMPY")
        }
        let major = pre[6], minor = pre[7]
        let lengthBytes: Int
        switch (major, minor) {
        case (1, 0): lengthBytes = 2
        case (2, 0), (3, 0): lengthBytes = 4
        default:
            throw BihashError.invalidFormat("'\(source)': unsupported NPY format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)")
        }
        let raw = lengthBytes == 2 ? Array(pre[8..<10]) : try read(4, 8, "the NPY header")
        let headerLength = raw.reversed().reduce(0) { $0 << 8 | Int($1) }
        if headerLength > maxHeaderLength {
            throw BihashError.limitExceeded("'\(source)': NPY header of \(headerLength) bytes exceeds the limit of \(maxHeaderLength)")
        }
        let start = 8 + lengthBytes
        let headerBytes = try read(headerLength, start, "the NPY header")
        let text: String
        if major == 3 {
            guard let s = String(validating: headerBytes, as: UTF8.self) else {
                throw BihashError.invalidFormat("'\(source)': NPY 3.0 header is not valid UTF-8")
            }
            text = s
        } else {
            guard headerBytes.allSatisfy({ $0 < 0x80 }) else {
                throw BihashError.invalidFormat("'\(source)': NPY \(major).0 header is not ASCII")
            }
            text = String(decoding: headerBytes, as: UTF8.self)
        }
        try self.init(header: text, dataOffset: start + headerLength, source: source)
    }

    /// Parses the header at the start of `bytes` (a whole file in memory or mapped).
    /// - Throws: as `init(source:maxHeaderLength:read:)`; `BihashError.invalidFormat` when `bytes` ends inside
    ///   the header.
    public init(bytes: UnsafeRawBufferPointer, source: String, maxHeaderLength: Int = NPYHeader.maxHeaderLength) throws {
        try self.init(source: source, maxHeaderLength: maxHeaderLength) { count, offset, _ in
            guard offset <= bytes.count, count <= bytes.count - offset else {
                throw BihashError.invalidFormat("'\(source)' is truncated: the NPY header needs \(offset + count) bytes, got \(bytes.count)")
            }
            return Array(bytes[offset..<(offset + count)])
        }
    }

    /// Validates the header dictionary `header`.
    private init(header: String, dataOffset: Int, source: String) throws {
        var parser = PythonLiteralParser(text: header, source: source)
        let value = try parser.parseTopLevel()
        guard case .dict(let entries) = value else {
            throw BihashError.invalidFormat("'\(source)': NPY header is not a dictionary: \(header)")
        }
        let keys = Set(entries.map(\.0))
        guard keys == ["descr", "fortran_order", "shape"], entries.count == 3 else {
            throw BihashError.invalidFormat(
                "'\(source)': NPY header must have exactly the keys descr, fortran_order, shape; found \(entries.map(\.0).sorted())")
        }
        let dict = Dictionary(entries, uniquingKeysWith: { a, _ in a })
        guard case .string(let descr)? = dict["descr"] else {
            throw BihashError.invalidFormat(
                "'\(source)': NPY descr must be a simple dtype string such as '<f4'; structured dtypes are not supported (found \(dict["descr"].map { "\($0)" } ?? "nothing"))")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else {
            throw BihashError.invalidFormat("'\(source)': NPY fortran_order must be True or False")
        }
        guard case .tuple(let dims)? = dict["shape"] else {
            throw BihashError.invalidFormat("'\(source)': NPY shape must be a tuple of integers")
        }
        var shape = [Int]()
        for d in dims {
            guard case .int(let v) = d, v >= 0 else {
                throw BihashError.invalidFormat("'\(source)': NPY shape must be a tuple of non-negative integers, found \(dims)")
            }
            shape.append(v)
        }
        if fortran && shape.count >= 2 {
            throw BihashError.invalidFormat(
                "'\(source)': fortran_order: True (column-major) arrays are not supported; save a C-ordered array (np.ascontiguousarray)")
        }
        // descr: byte-order mark + kind + width.
        let supported = NPYDataType.allCases.map(\.descr).joined(separator: ", ")
        guard let mark = descr.first, "<>|=".contains(mark),
              let dataType = NPYDataType(rawValue: String(descr.dropFirst())) else {
            throw BihashError.invalidFormat("'\(source)': unsupported NPY dtype '\(descr)' (supported: \(supported))")
        }
        guard let bytes = Self.byteCount(shape: shape, width: dataType.byteWidth) else {
            throw BihashError.limitExceeded("'\(source)': NPY shape \(shape) of \(dataType) overflows the byte count")
        }
        self.dataType = dataType
        self.isByteSwapped = mark == ">" && dataType.byteWidth > 1
        self.fortranOrder = fortran
        self.shape = shape
        self.dataOffset = dataOffset
        self.payloadByteCount = bytes
    }

    /// Throws unless the input holds exactly `payloadByteCount` bytes after the header.
    /// - Parameter available: the bytes from `dataOffset` to the end of the input.
    /// - Throws: `BihashError.invalidFormat` for a truncated payload or trailing bytes, naming `source`.
    public func validatePayloadLength(_ available: Int, source: String) throws {
        if available < payloadByteCount {
            throw BihashError.invalidFormat(
                "'\(source)' is truncated: the NPY header says shape \(shape) of \(dataType) = \(payloadByteCount) data bytes, found \(available)")
        }
        if available > payloadByteCount {
            throw BihashError.invalidFormat(
                "'\(source)' is longer than its NPY header says: shape \(shape) of \(dataType) = \(payloadByteCount) data bytes, found \(available)")
        }
    }

    /// Bytes of an array of `shape` with elements of `width` bytes, or nil when the product of the **non-zero**
    /// dimensions times `width` overflows `Int`. Zeros are skipped so that a shape such as (0, 2^62, 2^62), which
    /// holds no element, cannot later overflow a product of a subset of its dimensions (a matrix's columns).
    public static func byteCount(shape: [Int], width: Int) -> Int? {
        var nonZero = width, hasZero = false
        for d in shape {
            if d == 0 { hasZero = true; continue }
            let (p, o) = nonZero.multipliedReportingOverflow(by: d)
            if o { return nil }
            nonZero = p
        }
        return hasZero ? 0 : nonZero
    }
}
