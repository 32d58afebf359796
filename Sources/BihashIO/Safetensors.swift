import BihashCore

// The safetensors format (huggingface/safetensors, `safetensors/src/tensor.rs`), followed to the letter:
//
//   [8 bytes]  N, the header length, unsigned 64-bit little-endian
//   [N bytes]  the header: UTF-8 JSON object; `"__metadata__"` (optional) maps strings to strings, every other
//              key names a tensor: {"dtype":"F32","shape":[2,3],"data_offsets":[BEGIN,END]}, offsets relative
//              to the start of the data buffer; the writer pads the header with spaces to a multiple of 8 bytes
//   [rest]     the data buffer: each tensor's elements, little-endian, row-major, no strides or gaps.

/// The element types of the safetensors format, in the reference implementation's order (increasing alignment),
/// which is also the order its writer sorts by (descending).
public enum SafetensorsDType: String, CaseIterable, Sendable {
    /// One-byte booleans, unsigned and signed bytes, and the two FP8 formats (1 byte each).
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8E5M2 = "F8_E5M2", f8E4M3 = "F8_E4M3"
    /// 16-bit integers, IEEE half and bfloat16 (2 bytes each).
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    /// 32-bit integers and float (4 bytes), float64 and 64-bit integers (8 bytes).
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    /// Position in the reference `Dtype` enum (its `Ord`).
    var rank: Int { SafetensorsDType.allCases.firstIndex(of: self) ?? 0 }
}

/// One tensor of a safetensors file: element type, shape, and its raw little-endian bytes.
public struct SafetensorsTensor: Equatable, Sendable {
    /// The element type.
    public let dtype: SafetensorsDType
    /// Dimensions, outermost first; `[]` is a scalar (one element).
    public let shape: [Int]
    /// `shape.product × dtype.byteWidth` bytes, little-endian, row-major.
    public let data: [UInt8]

    /// A tensor from raw bytes.
    /// - Throws: `BihashError.invalidArgument` for a negative dimension, an element count that overflows, or a
    ///   byte count other than the element count × `dtype.byteWidth`.
    public init(dtype: SafetensorsDType, shape: [Int], data: [UInt8]) throws {
        let bytes = try SafetensorsTensor.byteCount(dtype: dtype, shape: shape)
        guard let bytes else {
            throw BihashError.invalidArgument("tensor of shape \(shape) and dtype \(dtype.rawValue) is too large to address")
        }
        try require(bytes == data.count,
                    "tensor of shape \(shape) and dtype \(dtype.rawValue) needs \(bytes) bytes, got \(data.count)")
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// An `F32` tensor holding `tensor`'s scalars.
    public init(_ tensor: Tensor<Float>) {
        var data = [UInt8](repeating: 0, count: tensor.count * 4)
        data.withUnsafeMutableBytes { out in
            for (i, v) in tensor.scalars.enumerated() { out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        self.dtype = .f32
        self.shape = tensor.shape
        self.data = data
    }

    /// The elements as a `Tensor<Float>` (a scalar becomes shape `[]`).
    /// - Throws: `BihashError.invalidFormat` unless the dtype is `F32`.
    public func floatTensor() throws -> Tensor<Float> {
        guard dtype == .f32 else {
            throw BihashError.invalidFormat("expected an F32 tensor, found \(dtype.rawValue)")
        }
        let n = data.count / 4
        let scalars = [Float](unsafeUninitializedCapacity: n) { buf, count in
            data.withUnsafeBytes { raw in
                for i in 0..<n { buf[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            }
            count = n
        }
        return Tensor(uncheckedShape: shape, scalars: scalars)
    }

    /// shape.product × width, or nil when the product of the **non-zero** dimensions × width overflows (a zero
    /// dimension must not hide an overflowing product of the others: `Tensor.cols` multiplies a subset of them);
    /// throws for a negative dimension.
    static func byteCount(dtype: SafetensorsDType, shape: [Int]) throws -> Int? {
        var nonZero = dtype.byteWidth, hasZero = false
        for d in shape {
            try require(d >= 0, "tensor dimensions must be ≥ 0, got shape \(shape)")
            if d == 0 { hasZero = true; continue }
            let (p, o) = nonZero.multipliedReportingOverflow(by: d)
            if o { return nil }
            nonZero = p
        }
        return hasZero ? 0 : nonZero
    }
}

/// A safetensors file in memory: named tensors plus the optional `__metadata__` string map.
///
/// ```swift
/// var file = SafetensorsFile()
/// try file.insert(SafetensorsTensor(weights), named: "encoder.0.weight")
/// file.metadata["bihash.format_version"] = "1"
/// try file.write(to: "model.safetensors")
/// let back = try SafetensorsFile(contentsOfFile: "model.safetensors")
/// ```
///
/// Reading validates the whole file as the reference implementation does (`SafeTensors::read_metadata` and
/// `Metadata::validate`) and more: header length ≤ 100,000,000 bytes (`maxHeaderSize`) and inside the file, UTF-8,
/// strict JSON (no duplicate keys, nesting ≤ 128), at most `maxTensorCount` (65,536) tensors, known dtypes,
/// non-negative integer shapes and offsets, offsets contiguous from 0 with no gap or overlap (in offset order),
/// each tensor's byte size = shape product × dtype width (checked arithmetic, zero dimensions included), and the
/// last offset = the end of the file. Nothing is allocated from a claimed size: tensors are copied only after
/// every offset is known to lie inside the bytes at hand. Any violation throws a `BihashError` that says what is wrong.
///
/// ### See Also
/// - ``ModelFile``, which stores a `HashModel` in this format.
public struct SafetensorsFile: Sendable {
    /// Largest header accepted, as the reference implementation (`MAX_HEADER_SIZE`): checked on the 8-byte length
    /// field before the header is read or parsed.
    public static let maxHeaderSize = 100_000_000
    /// Most tensors a file may hold (the reference sets no limit; a bihash model has a few dozen), checked after
    /// the header is parsed and before any tensor is validated or copied.
    public static let maxTensorCount = 65_536
    /// The reserved header key of the string→string metadata map.
    public static let metadataKey = "__metadata__"
    /// Largest file `init(contentsOfFile:)` reads into memory (16 GiB).
    public static let maxFileSize = 16 << 30

    /// The tensors by name.
    public private(set) var tensors: [String: SafetensorsTensor]
    /// The `__metadata__` map (omitted from the file when empty).
    public var metadata: [String: String]

    /// A file holding `tensors` and `metadata`.
    /// - Throws: `BihashError.invalidArgument` if a tensor is named `__metadata__`.
    public init(tensors: [String: SafetensorsTensor] = [:], metadata: [String: String] = [:]) throws {
        try require(tensors[SafetensorsFile.metadataKey] == nil,
                    "a tensor cannot be named \(SafetensorsFile.metadataKey) (reserved for the metadata map)")
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Adds or replaces the tensor `name`.
    /// - Throws: `BihashError.invalidArgument` for the reserved name `__metadata__`.
    public mutating func insert(_ tensor: SafetensorsTensor, named name: String) throws {
        try require(name != SafetensorsFile.metadataKey,
                    "a tensor cannot be named \(SafetensorsFile.metadataKey) (reserved for the metadata map)")
        tensors[name] = tensor
    }

    /// Tensor names in the order the writer stores them: descending dtype (as the reference `Dtype` order,
    /// i.e. alignment), then ascending name by UTF-8 bytes.
    public var orderedNames: [String] {
        tensors.map { (name: $0.key, rank: $0.value.dtype.rank) }.sorted { a, b in
            if a.rank != b.rank { return a.rank > b.rank }
            return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
        }.map(\.name)
    }

    // MARK: Writing

    /// The file's bytes, exactly as the reference `safetensors::serialize` writes them for the same tensors
    /// and metadata (metadata keys, which the reference keeps in a hash map, are written in sorted order).
    /// - Throws: `BihashError.limitExceeded` if the header would exceed `maxHeaderSize`.
    public func serialized() throws -> [UInt8] {
        var members: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            members.append((SafetensorsFile.metadataKey, .object(pairs.map { ($0.key, .string($0.value)) })))
        }
        let ordered = orderedNames.compactMap { name in tensors[name].map { (name, $0) } }
        var offset = 0
        for (name, t) in ordered {
            let end = offset + t.data.count
            members.append((name, .object([
                ("dtype", .string(t.dtype.rawValue)),
                ("shape", .array(t.shape.map { JSONWriter.number($0) })),
                ("data_offsets", .array([JSONWriter.number(offset), JSONWriter.number(end)])),
            ])))
            offset = end
        }
        var header = Array(JSONWriter.serialize(.object(members)).utf8)
        header.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8))
        guard header.count <= SafetensorsFile.maxHeaderSize else {
            throw BihashError.limitExceeded("safetensors header of \(header.count) bytes exceeds the limit of \(SafetensorsFile.maxHeaderSize)")
        }
        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for (_, t) in ordered { out.append(contentsOf: t.data) }
        return out
    }

    /// Writes the file atomically (temporary file in the same directory, `fsync`, `rename`).
    /// - Throws: `BihashError.io` when the file cannot be written; see `serialized()`.
    public func write(to path: String) throws {
        try FileBytes.writeAtomically(serialized(), to: path, what: "safetensors file")
    }

    // MARK: Reading

    /// Reads and validates the safetensors file at `path`.
    /// - Throws: `BihashError.io` if it cannot be read, `.limitExceeded` beyond `maxFileSize` or for a header
    ///   longer than `maxHeaderSize`, `.invalidFormat` for anything malformed (see the type's description).
    public init(contentsOfFile path: String) throws {
        let bytes = try FileBytes.load(path: path, limit: SafetensorsFile.maxFileSize, what: "safetensors file")
        do {
            try self.init(bytes: bytes)
        } catch let e as BihashError {
            throw e.prefixed("\(path): ")
        }
    }

    /// Parses and validates a complete safetensors file held in memory.
    /// - Throws: `.limitExceeded` for a header longer than `maxHeaderSize`, `.invalidFormat` for anything
    ///   malformed.
    public init(bytes: [UInt8]) throws {
        let fileSize = bytes.count
        guard fileSize >= 8 else {
            throw BihashError.invalidFormat("safetensors file is truncated: \(fileSize) bytes, fewer than the 8-byte header length")
        }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(SafetensorsFile.maxHeaderSize) else {
            throw BihashError.limitExceeded("safetensors header length \(n) exceeds the limit of \(SafetensorsFile.maxHeaderSize) bytes (corrupt or not a safetensors file)")
        }
        let headerEnd = 8 + Int(n)
        guard headerEnd <= fileSize else {
            throw BihashError.invalidFormat("safetensors file is truncated: the header claims \(n) bytes but only \(fileSize - 8) follow the length field")
        }
        guard String(validating: bytes[8..<headerEnd], as: UTF8.self) != nil else {
            throw BihashError.invalidFormat("safetensors header is not valid UTF-8")
        }
        guard headerEnd > 8, bytes[8] == UInt8(ascii: "{") else {
            throw BihashError.invalidFormat("safetensors header must start with '{' (not a safetensors file?)")
        }
        let header = try JSONParser.parse(bytes, range: 8..<headerEnd, what: "safetensors header")
        guard case .object(let members) = header else {
            throw BihashError.invalidFormat("safetensors header must be a JSON object, found \(header.kindName)")
        }

        let tensorCount = members.count - (header[SafetensorsFile.metadataKey] == nil ? 0 : 1)
        guard tensorCount <= SafetensorsFile.maxTensorCount else {
            throw BihashError.limitExceeded("safetensors header lists \(tensorCount) tensors, more than the limit of \(SafetensorsFile.maxTensorCount)")
        }
        struct Entry { let name: String; let dtype: SafetensorsDType; let shape: [Int]; let begin: Int; let end: Int }
        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        for (key, value) in members {
            if key == SafetensorsFile.metadataKey {
                switch value {
                case .null: break
                case .object(let pairs):
                    for (k, v) in pairs {
                        guard case .string(let s) = v else {
                            throw BihashError.invalidFormat("safetensors __metadata__ value of \"\(k)\" must be a string, found \(v.kindName)")
                        }
                        metadata[k] = s
                    }
                default:
                    throw BihashError.invalidFormat("safetensors __metadata__ must be an object of strings, found \(value.kindName)")
                }
                continue
            }
            let (dtype, shape, begin, end) = try SafetensorsFile.parseEntry(name: key, value)
            entries.append(Entry(name: key, dtype: dtype, shape: shape, begin: begin, end: end))
        }

        // Validate in offset order, as the reference does: contiguous from 0, no overlap, exact sizes.
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        let bufferSize = fileSize - headerEnd
        var expected = 0
        for e in entries {
            guard e.end >= e.begin else {
                throw BihashError.invalidFormat("safetensors tensor \"\(e.name)\": data_offsets [\(e.begin), \(e.end)] end before they begin")
            }
            guard e.begin == expected else {
                throw BihashError.invalidFormat(e.begin < expected
                    ? "safetensors tensor \"\(e.name)\": data_offsets [\(e.begin), \(e.end)] overlap the previous tensor (which ends at \(expected))"
                    : "safetensors tensor \"\(e.name)\": data_offsets [\(e.begin), \(e.end)] leave a gap after byte \(expected) (tensors must be contiguous)")
            }
            guard e.end <= bufferSize else {
                throw BihashError.invalidFormat("safetensors tensor \"\(e.name)\": data_offsets [\(e.begin), \(e.end)] run past the end of the data buffer (\(bufferSize) bytes; file truncated?)")
            }
            guard let size = try? SafetensorsTensor.byteCount(dtype: e.dtype, shape: e.shape) else {
                throw BihashError.invalidFormat("safetensors tensor \"\(e.name)\": shape \(e.shape) × \(e.dtype.rawValue) overflows")
            }
            guard size == e.end - e.begin else {
                throw BihashError.invalidFormat("safetensors tensor \"\(e.name)\": shape \(e.shape) of \(e.dtype.rawValue) needs \(size) bytes but data_offsets [\(e.begin), \(e.end)] hold \(e.end - e.begin)")
            }
            expected = e.end
        }
        guard expected == bufferSize else {
            throw BihashError.invalidFormat("safetensors data buffer has \(bufferSize) bytes but the tensors cover \(expected) (the last offset must be the end of the file)")
        }
        var tensors: [String: SafetensorsTensor] = [:]
        for e in entries {
            tensors[e.name] = try SafetensorsTensor(dtype: e.dtype, shape: e.shape,
                                                    data: Array(bytes[(headerEnd + e.begin)..<(headerEnd + e.end)]))
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Parses one tensor entry {"dtype", "shape", "data_offsets"} (other keys are ignored, as the reference does).
    private static func parseEntry(name: String, _ value: JSONValue) throws -> (SafetensorsDType, [Int], Int, Int) {
        let what = "safetensors tensor \"\(name)\""
        guard case .object = value else { throw BihashError.invalidFormat("\(what) must be an object, found \(value.kindName)") }
        guard let dtypeValue = value["dtype"] else { throw BihashError.invalidFormat("\(what) has no \"dtype\"") }
        guard case .string(let dtypeName) = dtypeValue else {
            throw BihashError.invalidFormat("\(what): \"dtype\" must be a string, found \(dtypeValue.kindName)")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw BihashError.invalidFormat("\(what): unknown dtype \"\(dtypeName)\" (known: \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard case .array(let dims)? = value["shape"] else {
            throw BihashError.invalidFormat("\(what): \"shape\" must be an array of non-negative integers")
        }
        var shape: [Int] = []
        for d in dims {
            guard let v = d.nonNegativeInt else {
                throw BihashError.invalidFormat("\(what): shape entry \(JSONWriter.serialize(d)) is not a non-negative integer")
            }
            shape.append(v)
        }
        guard case .array(let offsets)? = value["data_offsets"], offsets.count == 2 else {
            throw BihashError.invalidFormat("\(what): \"data_offsets\" must be an array [BEGIN, END] of two non-negative integers")
        }
        guard let begin = offsets[0].nonNegativeInt, let end = offsets[1].nonNegativeInt else {
            throw BihashError.invalidFormat("\(what): data_offsets \(JSONWriter.serialize(.array(offsets))) are not non-negative integers in range")
        }
        return (dtype, shape, begin, end)
    }
}

extension BihashError {
    /// The same error with `prefix` in front of its message (to name the file).
    func prefixed(_ prefix: String) -> BihashError {
        switch self {
        case .invalidArgument(let m): return .invalidArgument(prefix + m)
        case .invalidFormat(let m): return .invalidFormat(prefix + m)
        case .io(let m): return .io(prefix + m)
        case .numerical(let m): return .numerical(prefix + m)
        case .invalidState(let m): return .invalidState(prefix + m)
        case .limitExceeded(let m): return .limitExceeded(prefix + m)
        case .cancelled(let m): return .cancelled(prefix + m)
        }
    }
}
