import BihashCore
import CZlib

/// Element types of the IDX format (the third byte of the magic number).
public enum IDXDataType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Unsigned byte (0x08), the type of MNIST and Fashion-MNIST images and labels.
    case uint8 = 0x08
    /// Signed byte (0x09).
    case int8 = 0x09
    /// Big-endian 16-bit signed integer (0x0B).
    case int16 = 0x0B
    /// Big-endian 32-bit signed integer (0x0C).
    case int32 = 0x0C
    /// Big-endian IEEE float32 (0x0D).
    case float32 = 0x0D
    /// Big-endian IEEE float64 (0x0E).
    case float64 = 0x0E

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16: return 2
        case .int32, .float32: return 4
        case .float64: return 8
        }
    }

    /// True for the integer types.
    public var isInteger: Bool { self != .float32 && self != .float64 }

    public var description: String {
        switch self {
        case .uint8: return "ubyte (0x08)"
        case .int8: return "byte (0x09)"
        case .int16: return "short (0x0B)"
        case .int32: return "int (0x0C)"
        case .float32: return "float (0x0D)"
        case .float64: return "double (0x0E)"
        }
    }
}

/// An array read from an IDX file (plain or gzip-compressed): its element type, shape, and raw payload.
///
/// The payload keeps the file's big-endian byte order; the accessors convert.
public struct IDXArray: Sendable, Equatable {
    /// Element type from the magic number.
    public let dataType: IDXDataType
    /// Dimensions, outermost first (N first for a data set).
    public let shape: [Int]
    /// The elements as stored: `count * dataType.byteWidth` big-endian bytes.
    public let payload: [UInt8]
    /// The file this array came from (used in error messages).
    public let source: String

    /// Number of elements (product of `shape`).
    public var count: Int { payload.count / dataType.byteWidth }

    /// Wraps a payload; throws unless `payload.count` equals the element count of `shape` times the width.
    public init(dataType: IDXDataType, shape: [Int], payload: [UInt8], source: String = "<memory>") throws {
        try require(shape.allSatisfy { $0 >= 0 }, "IDX shape \(shape) has a negative dimension")
        let bytes = NPY.byteCount(shape: shape, width: dataType.byteWidth)
        try require(bytes != nil && bytes == payload.count,
                    "IDX array of shape \(shape) and type \(dataType) needs \(bytes.map(String.init) ?? "too many (the shape overflows)") bytes, got \(payload.count)")
        self.dataType = dataType
        self.shape = shape
        self.payload = payload
        self.source = source
    }

    /// The elements of a `uint8` array.
    /// - Throws: `BihashError.invalidFormat` if the array holds another type.
    public func uint8Values() throws -> [UInt8] {
        guard dataType == .uint8 else {
            throw BihashError.invalidFormat("'\(source)': expected IDX element type \(IDXDataType.uint8), found \(dataType)")
        }
        return payload
    }

    /// The elements of an integer array as `Int`.
    /// - Throws: `BihashError.invalidFormat` for float arrays.
    public func intValues() throws -> [Int] {
        guard dataType.isInteger else {
            throw BihashError.invalidFormat("'\(source)': expected an integer IDX array (labels), found \(dataType)")
        }
        return (0..<count).map { Int(element($0)) }
    }

    /// Every element as `Double` (exact for all IDX types).
    public func doubleValues() -> [Double] {
        (0..<count).map { element($0) }
    }

    /// The array as a float matrix [shape[0], product of the other dimensions], each element multiplied by `scale`
    /// (e.g. `1/255` for pixels). A 1-D array becomes [N, 1].
    /// - Throws: `BihashError.invalidFormat` for a 0-dimensional array.
    public func floatMatrix(scale: Float = 1) throws -> Tensor<Float> {
        guard let n = shape.first else {
            throw BihashError.invalidFormat("'\(source)': a 0-dimensional IDX array is not a matrix")
        }
        let d = shape.dropFirst().reduce(1, *)
        var out = [Float](repeating: 0, count: count)
        if dataType == .uint8 {
            payload.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    if scale == 1 {
                        for i in 0..<src.count { dst[i] = Float(src[i]) }
                    } else if scale == 1 / 255 {
                        for i in 0..<src.count { dst[i] = Float(src[i]) / 255 }  // as torchvision's ToTensor
                    } else {
                        for i in 0..<src.count { dst[i] = Float(src[i]) * scale }
                    }
                }
            }
        } else {
            for i in 0..<count { out[i] = Float(element(i)) * scale }
        }
        return Tensor(uncheckedShape: [n, d], scalars: out)
    }

    /// Element `i` as a Double, decoding the big-endian payload.
    private func element(_ i: Int) -> Double {
        let w = dataType.byteWidth, o = i * w
        var bits: UInt64 = 0
        for b in 0..<w { bits = bits << 8 | UInt64(payload[o + b]) }
        switch dataType {
        case .uint8: return Double(UInt8(bits))
        case .int8: return Double(Int8(bitPattern: UInt8(bits)))
        case .int16: return Double(Int16(bitPattern: UInt16(bits)))
        case .int32: return Double(Int32(bitPattern: UInt32(bits)))
        case .float32: return Double(Float(bitPattern: UInt32(bits)))
        case .float64: return Double(bitPattern: bits)
        }
    }
}

/// Reader for IDX files (the MNIST format), plain or gzip-compressed (detected from the gzip magic bytes).
///
/// Layout: two zero bytes, a type byte, a dimension count, then one big-endian `UInt32` per dimension, then the
/// elements in row-major order. The reader checks all of it and never trusts the header for an allocation: a
/// plain file's length is checked against the header before reading, a gzip stream is inflated in bounded chunks
/// (4 MiB) and its buffer grows only as real data arrives. Limits: 1 to `maxDimensions` (32) dimensions, and a shape
/// whose non-zero dimensions times the element width fit `Int` (`limitExceeded` otherwise).
///
/// ```swift
/// let images = try IDXReader.read(path: "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
/// let x = try images.floatMatrix(scale: 1 / 255)   // [10000, 784]
/// ```
public enum IDXReader {
    /// Largest dimension count accepted (the format allows 255; real files use 1 to 4).
    public static let maxDimensions = 32

    /// Reads the IDX file at `path`.
    /// - Throws: `BihashError.io` if the file cannot be opened or read; `BihashError.invalidFormat` for a bad magic
    ///   number, unknown type, truncated or over-long data or a corrupt gzip stream; `BihashError.limitExceeded` if the
    ///   header's dimensions overflow. Every message names `path`.
    public static func read(path: String) throws -> IDXArray {
        let file = try InputFile(path: path)
        if file.size >= 2 {
            let head = try file.read(count: 2, at: 0, what: "the magic number")
            if head[0] == 0x1F && head[1] == 0x8B { return try readGzip(path: path) }
        }
        // Plain IDX: check the length against the header before reading the payload.
        let (dataType, shape, headerSize, payloadSize) = try parseHeader(path: path) { count, offset in
            try file.read(count: count, at: offset, what: "the IDX header")
        }
        let available = file.size - headerSize
        if available < payloadSize {
            throw BihashError.invalidFormat(
                "'\(path)' is truncated: the IDX header says shape \(shape) of \(dataType) = \(payloadSize) data bytes, the file has \(available)")
        }
        if available > payloadSize {
            throw BihashError.invalidFormat(
                "'\(path)' is longer than its IDX header says: shape \(shape) of \(dataType) = \(payloadSize) data bytes, the file has \(available)")
        }
        let payload = try file.read(count: payloadSize, at: headerSize, what: "the IDX data")
        return try IDXArray(dataType: dataType, shape: shape, payload: payload, source: path)
    }

    /// Parses the magic number and dimensions through `readBytes(count, offset)`.
    private static func parseHeader(path: String, readBytes: (Int, Int) throws -> [UInt8])
        throws -> (IDXDataType, [Int], headerSize: Int, payloadSize: Int) {
        let magic = try readBytes(4, 0)
        guard magic[0] == 0 && magic[1] == 0 else {
            throw BihashError.invalidFormat(
                "'\(path)' is not an IDX file: magic number starts \(hex(magic[0])) \(hex(magic[1])), expected 0x00 0x00")
        }
        guard let dataType = IDXDataType(rawValue: magic[2]) else {
            throw BihashError.invalidFormat(
                "'\(path)': unknown IDX element type \(hex(magic[2])) (expected one of 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)")
        }
        let ndims = Int(magic[3])
        guard ndims >= 1 && ndims <= maxDimensions else {
            throw BihashError.invalidFormat("'\(path)': IDX dimension count \(ndims) is outside 1...\(maxDimensions)")
        }
        let dimBytes = try readBytes(4 * ndims, 4)
        var shape = [Int]()
        for d in 0..<ndims { shape.append((0..<4).reduce(0) { $0 << 8 | Int(dimBytes[4 * d + $1]) }) }
        // Non-zero dimensions only: a zero must not hide an overflowing product of the others.
        guard let bytes = NPY.byteCount(shape: shape, width: dataType.byteWidth) else {
            throw BihashError.limitExceeded("'\(path)': IDX shape \(shape) of \(dataType) overflows the byte count")
        }
        return (dataType, shape, 4 + 4 * ndims, bytes)
    }

    private static func readGzip(path: String) throws -> IDXArray {
        guard let gz = gzopen(path, "rb") else {
            throw BihashError.io("cannot open '\(path)' with zlib")
        }
        defer { gzclose(gz) }
        gzbuffer(gz, 1 << 17)

        func zlibMessage() -> String {
            var code: Int32 = 0
            guard let msg = gzerror(gz, &code), code != Z_OK else { return "" }
            return " (zlib: \(String(cString: msg)))"
        }
        /// Appends up to `count` inflated bytes to `out`; returns how many arrived (fewer only at the end of stream).
        func inflate(_ count: Int, into out: inout [UInt8]) throws -> Int {
            var done = 0
            let chunk = 1 << 22
            var buffer = [UInt8](repeating: 0, count: Swift.min(chunk, Swift.max(count, 1)))
            while done < count {
                let want = Swift.min(chunk, count - done)
                let n = buffer.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32(want)) }
                if n < 0 {
                    throw BihashError.invalidFormat("'\(path)' is not a valid gzip stream\(zlibMessage())")
                }
                if n == 0 { break }
                out.append(contentsOf: buffer[0..<Int(n)])
                done += Int(n)
            }
            return done
        }

        var header = [UInt8]()
        let (dataType, shape, headerSize, payloadSize) = try parseHeader(path: path) { count, offset in
            // Called with increasing offsets: 0 then 4.
            let before = header.count
            let got = try inflate(count, into: &header)
            if got < count {
                throw BihashError.invalidFormat(
                    "'\(path)' is truncated: the IDX header needs \(offset + count) bytes, the decompressed stream has \(before + got)\(zlibMessage())")
            }
            return Array(header[offset..<(offset + count)])
        }
        _ = headerSize
        var payload = [UInt8]()
        payload.reserveCapacity(Swift.min(payloadSize, 1 << 22))  // then grows only as real data arrives
        let got = try inflate(payloadSize, into: &payload)
        if got < payloadSize {
            throw BihashError.invalidFormat(
                "'\(path)' is truncated: the IDX header says shape \(shape) of \(dataType) = \(payloadSize) data bytes, the decompressed stream has \(got)\(zlibMessage())")
        }
        var extra = [UInt8]()
        if try inflate(1, into: &extra) > 0 {
            throw BihashError.invalidFormat(
                "'\(path)' is longer than its IDX header says: shape \(shape) of \(dataType) = \(payloadSize) data bytes, the decompressed stream has more")
        }
        return try IDXArray(dataType: dataType, shape: shape, payload: payload, source: path)
    }
}

/// `0xAB` formatting of a byte for error messages.
func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return "0x\(digits[Int(byte >> 4)])\(digits[Int(byte & 15)])"
}
