import BihashCore

/// A codes file: the packed codes produced by a model (`bihash encode … > codes.bin`), with the model's
/// fingerprint and, optionally, one name per row (an image path) so rows can be traced back to items.
///
/// Layout, version 1 (all integers little-endian):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `BIHCODES` |
/// | 8 | 4 | version (1) |
/// | 12 | 4 | K, bits per code (1…4096) |
/// | 16 | 8 | N, number of codes |
/// | 24 | 4 | bit order: 1 = MSB-first within each byte (`numpy.packbits`) |
/// | 28 | 4 | header size (96) |
/// | 32 | 32 | model fingerprint (hash of weights + preprocessing; all zero when unknown) |
/// | 64 | 8 | names offset (0 when there are no names, else 96 + N·⌈K/8⌉) |
/// | 72 | 8 | names length in bytes |
/// | 80 | 8 | file size |
/// | 88 | 8 | checksum: XXH64 (seed 0) of the whole file with these 8 bytes set to zero |
/// | 96 | N·⌈K/8⌉ | codes, row after row, padding bits zero |
/// | names offset | names length | N names, each a u32 byte length then UTF-8 bytes |
///
/// ```swift
/// let file = try CodesFile(codes: codes, fingerprint: modelHash, names: paths)
/// try file.write(to: "codes.bin")
/// let back = try CodesFile.read("codes.bin")      // validated: magic, version, sizes, checksum
/// ```
///
/// Limits, checked before anything is computed from the header: K in 1…4096 (`PackedCodes.maxBits`) and
/// N ≤ file size / ⌈K/8⌉; the names section must end exactly at the end of the file and each name's length must
/// fit in it.
public struct CodesFile: Equatable, Sendable {
    /// The 8 magic bytes, "BIHCODES".
    public static let magic: [UInt8] = Array("BIHCODES".utf8)
    /// The version this build writes and reads.
    public static let version: UInt32 = 1
    /// Size of the header, and offset of the codes.
    public static let headerSize = 96
    /// Bytes in a model fingerprint.
    public static let fingerprintSize = 32
    static let checksumOffset = 88

    /// The codes.
    public var codes: PackedCodes
    /// 32 bytes identifying the model and preprocessing that produced the codes (zeros when unknown).
    public var fingerprint: [UInt8]
    /// One name per code, or nil.
    public var names: [String]?

    /// Bundles codes with their fingerprint and names.
    /// - Throws: `BihashError.invalidArgument` unless the fingerprint has 32 bytes and there is one name per code.
    public init(codes: PackedCodes, fingerprint: [UInt8] = [UInt8](repeating: 0, count: 32), names: [String]? = nil) throws {
        try require(fingerprint.count == CodesFile.fingerprintSize,
                    "a model fingerprint has \(CodesFile.fingerprintSize) bytes, got \(fingerprint.count)")
        if let names {
            try require(names.count == codes.count, "\(codes.count) codes but \(names.count) names")
            for (i, name) in names.enumerated() {
                try require(name.utf8.count <= Int(UInt32.max), "name \(i) is longer than 4 GiB")
            }
        }
        self.codes = codes
        self.fingerprint = fingerprint
        self.names = names
    }

    /// The file's bytes.
    public func encoded() -> [UInt8] {
        let codeBytes = codes.bytes.count
        var nameBytes = ByteWriter()
        if let names {
            for name in names {
                let utf8 = Array(name.utf8)
                nameBytes.append(UInt32(utf8.count))
                nameBytes.append(bytes: utf8)
            }
        }
        let namesOffset = names == nil ? 0 : CodesFile.headerSize + codeBytes
        let fileSize = CodesFile.headerSize + codeBytes + nameBytes.bytes.count
        var w = ByteWriter()
        w.append(bytes: CodesFile.magic)
        w.append(CodesFile.version)
        w.append(UInt32(codes.bits))
        w.append(UInt64(codes.count))
        w.append(IndexFile.bitOrderMSBFirst)
        w.append(UInt32(CodesFile.headerSize))
        w.append(bytes: fingerprint)
        w.append(UInt64(namesOffset))
        w.append(UInt64(nameBytes.bytes.count))
        w.append(UInt64(fileSize))
        w.append(UInt64(0))  // checksum, patched below
        w.append(bytes: codes.bytes)
        w.append(bytes: nameBytes.bytes)
        let sum = w.bytes.withUnsafeBytes { XXHash64.hash($0.baseAddress!, count: $0.count) }
        w.patch(sum, at: CodesFile.checksumOffset)
        return w.bytes
    }

    /// Writes the file atomically.
    /// - Throws: `BihashError.io` when it cannot be written.
    public func write(to path: String) throws {
        let bytes = encoded()
        try writeFileAtomically(path) { try $0.write(bytes) }
    }

    /// Reads and validates a codes file.
    /// - Throws: `BihashError.io` when it cannot be read; `.invalidFormat` naming the bad field.
    public static func read(_ path: String) throws -> CodesFile {
        let file = try MappedFile(path: path)
        return try CodesFile(decoding: UnsafeRawBufferPointer(start: file.base, count: file.count), source: "codes file \(path)")
    }

    /// Decodes and validates the bytes of a codes file.
    /// - Parameter source: names the input in error messages.
    /// - Throws: `BihashError.invalidFormat` naming the bad field.
    public init(decoding data: UnsafeRawBufferPointer, source: String = "codes data") throws {
        let what = source
        let size = data.count
        guard size >= CodesFile.headerSize, let base = data.baseAddress else {
            throw BihashError.invalidFormat("\(what): truncated: \(size) bytes, the header alone needs \(CodesFile.headerSize)")
        }
        let r = ByteReader(base: base, count: size, what: what)
        let fileMagic = try r.bytes(at: 0, count: 8)
        guard fileMagic == CodesFile.magic else {
            throw BihashError.invalidFormat("\(what): wrong magic \(fileMagic) (expected \"BIHCODES\"); HINT: is this a bihash codes file? index files start with \"BIHASHIX\"")
        }
        let v = try r.read(UInt32.self, at: 8)
        guard v == CodesFile.version else {
            throw BihashError.invalidFormat("\(what): unsupported version \(v); this build reads version \(CodesFile.version)")
        }
        let bits = Int(try r.read(UInt32.self, at: 12))
        guard (1...PackedCodes.maxBits).contains(bits) else {
            throw BihashError.invalidFormat("\(what): bits per code is \(bits), expected 1...\(PackedCodes.maxBits)")
        }
        let bpc = (bits + 7) / 8
        let count64 = try r.read(UInt64.self, at: 16)
        // Bound the count by the bytes actually present before computing anything from it.
        guard count64 <= UInt64(size / bpc) else {
            throw BihashError.invalidFormat("\(what): header claims \(count64) codes of \(bits) bits but the file has only \(size) bytes")
        }
        let n = Int(count64)
        let order = try r.read(UInt32.self, at: 24)
        guard order == IndexFile.bitOrderMSBFirst else {
            throw BihashError.invalidFormat("\(what): unknown bit order \(order) (1 = MSB-first is the only one)")
        }
        let hsize = try r.read(UInt32.self, at: 28)
        guard hsize == UInt32(CodesFile.headerSize) else {
            throw BihashError.invalidFormat("\(what): header size \(hsize), expected \(CodesFile.headerSize)")
        }
        let fingerprint = try r.bytes(at: 32, count: CodesFile.fingerprintSize)
        let namesOffset = try r.read(UInt64.self, at: 64)
        let namesLength = try r.read(UInt64.self, at: 72)
        let declaredSize = try r.read(UInt64.self, at: 80)
        let codeBytes = n * bpc
        let codesEnd = CodesFile.headerSize + codeBytes
        guard declaredSize == UInt64(size) else {
            throw BihashError.invalidFormat("\(what): header declares \(declaredSize) bytes but there are \(size) (\(UInt64(size) < declaredSize ? "truncated" : "trailing data"))")
        }
        if namesOffset == 0 {
            guard namesLength == 0, size == codesEnd else {
                throw BihashError.invalidFormat("\(what): \(n) codes of \(bits) bits end at \(codesEnd), file size is \(size), names length \(namesLength)")
            }
        } else {
            guard namesOffset == UInt64(codesEnd), namesLength <= UInt64(size), UInt64(codesEnd) + namesLength == UInt64(size) else {
                throw BihashError.invalidFormat("\(what): names section at \(namesOffset) of \(namesLength) bytes does not fit: codes end at \(codesEnd), file size is \(size)")
            }
        }
        let stored = try r.read(UInt64.self, at: CodesFile.checksumOffset)
        var hasher = XXHash64()
        hasher.update(base, count: CodesFile.checksumOffset)
        hasher.update([UInt8](repeating: 0, count: 8))
        hasher.update(base + CodesFile.headerSize, count: size - CodesFile.headerSize)
        let actual = hasher.finalize()
        guard stored == actual else {
            throw BihashError.invalidFormat("\(what): checksum mismatch (stored \(IndexFile.hex(stored)), computed \(IndexFile.hex(actual))): the file is corrupted")
        }
        let codes: PackedCodes
        do {
            codes = try PackedCodes(bits: bits, count: n, bytes: try r.bytes(at: CodesFile.headerSize, count: codeBytes))
        } catch let e as BihashError {
            throw BihashError.invalidFormat("\(what): \(e.message)")
        }
        var names: [String]? = nil
        if namesOffset != 0 {
            var list: [String] = []
            list.reserveCapacity(n)
            var p = codesEnd
            for i in 0..<n {
                let len = Int(try r.read(UInt32.self, at: p))
                let utf8 = try r.bytes(at: p + 4, count: len)
                guard let name = String(validating: utf8, as: UTF8.self) else {
                    throw BihashError.invalidFormat("\(what): name \(i) is not valid UTF-8")
                }
                list.append(name)
                p += 4 + len
            }
            guard p == size else { throw BihashError.invalidFormat("\(what): \(size - p) unexpected bytes after the last name") }
            names = list
        }
        self.codes = codes
        self.fingerprint = fingerprint
        self.names = names
    }
}
