import BihashCore

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
/// The reader validates the header with BihashCore's `NPYHeader` (magic string, version, header dictionary with
/// `descr`, `fortran_order`, `shape` and nothing else, the dtype), and the payload length against the file length
/// **before** allocating the payload, so a file whose header lies about its shape is rejected cheaply. Limits: a
/// header of at most `maxHeaderLength` bytes (1 MiB), nesting depth 8 in the header literal, and a shape whose
/// non-zero dimensions times the element width fit `Int` (checked arithmetic; `limitExceeded` otherwise).
/// Fortran-ordered arrays of rank ≥ 2 are rejected (rank 0 and 1 have the same layout in both orders and are
/// accepted). Big-endian files are byte-swapped.
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
    /// The six magic bytes `\x93NUMPY` (`NPYHeader.magic`).
    public static let magic = NPYHeader.magic
    /// Largest header accepted (`NPYHeader.maxHeaderLength`), checked before the header is read.
    public static let maxHeaderLength = NPYHeader.maxHeaderLength

    /// Bytes of an array of `shape` with elements of `width` bytes, or nil on overflow (`NPYHeader.byteCount`).
    static func byteCount(shape: [Int], width: Int) -> Int? {
        NPYHeader.byteCount(shape: shape, width: width)
    }

    // MARK: - Reading

    /// Reads the NPY file at `path`.
    /// - Throws: `BihashError.io` (missing or unreadable file), `BihashError.invalidFormat` (bad magic, version,
    ///   header, unsupported dtype, Fortran order, truncated or over-long data), `BihashError.limitExceeded` (a shape
    ///   that overflows, an oversized header). Messages name `path`.
    public static func read(path: String) throws -> NPYArray {
        let file = try InputFile(path: path)
        let header = try NPYHeader(source: path) { count, offset, what in
            try file.read(count: count, at: offset, what: what)
        }
        try header.validatePayloadLength(file.size - header.dataOffset, source: path)
        var payload = try file.read(count: header.payloadByteCount, at: header.dataOffset, what: "the NPY data")
        return try array(header, &payload, source: path)
    }

    /// Decodes an NPY file already in memory (`source` names it in error messages).
    public static func decode(_ bytes: [UInt8], source: String = "<memory>") throws -> NPYArray {
        let header = try bytes.withUnsafeBytes { try NPYHeader(bytes: $0, source: source) }
        try header.validatePayloadLength(bytes.count - header.dataOffset, source: source)
        var payload = Array(bytes[header.dataOffset...])
        return try array(header, &payload, source: source)
    }

    /// The array of `header` and its `payload` as stored (byte-swapped in place first when the file is big-endian).
    private static func array(_ header: NPYHeader, _ payload: inout [UInt8], source: String) throws -> NPYArray {
        if header.isByteSwapped { byteSwap(&payload, width: header.dataType.byteWidth) }
        return try NPYArray(dataType: header.dataType, shape: header.shape, payload: payload, source: source)
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
