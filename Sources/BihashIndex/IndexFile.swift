import BihashCore

/// The index file: the rows of a `FlatIndex` (codes and ids) in a form that is opened by `mmap` without copying.
///
/// Layout, version 1 (all integers little-endian):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `BIHASHIX` |
/// | 8 | 4 | version (1) |
/// | 12 | 4 | K, bits per code (1…4096) |
/// | 16 | 8 | N, number of items |
/// | 24 | 4 | bit order: 1 = MSB-first within each byte (`numpy.packbits`) |
/// | 28 | 4 | header size (64) |
/// | 32 | 8 | codes offset (64) |
/// | 40 | 8 | ids offset: codes offset + N·⌈K/8⌉ rounded up to a multiple of 8 |
/// | 48 | 8 | file size: ids offset + 8·N |
/// | 56 | 8 | checksum: XXH64 (seed 0) of the whole file with these 8 bytes set to zero |
/// | 64 | N·⌈K/8⌉ | codes, row after row, padding bits zero |
/// | … | 0–7 | zero bytes up to the ids offset |
/// | ids offset | 8·N | ids, u64 |
///
/// Files are written atomically (temporary file, `fsync`, rename) and only live items are written, in code order
/// (see `RowStore`); a file whose rows are in another order (written by an earlier build) is still read. On open,
/// every header field is checked against the file's real size before anything is trusted, then the padding
/// bits and the checksum; any mismatch is a `BihashError.invalidFormat` naming the field. Limits, checked in this
/// order before any read past the header: K in 1…4096 (`PackedCodes.maxBits`), N ≤ `FlatIndex.maxRows`
/// (2^31 − 1), and offsets and file size exactly those N and K imply. Opening allocates nothing proportional
/// to N: the codes and ids are read in place from the mapping.
public enum IndexFile {
    /// The 8 magic bytes, "BIHASHIX".
    public static let magic: [UInt8] = Array("BIHASHIX".utf8)
    /// The version this build writes and reads.
    public static let version: UInt32 = 1
    /// Bit-order tag for MSB-first codes.
    public static let bitOrderMSBFirst: UInt32 = 1
    /// Size of the fixed header, and offset of the codes.
    public static let headerSize = 64
    static let checksumOffset = 56

    /// Writes the live items of `index` to `path` atomically.
    /// - Throws: `BihashError.io` when the file cannot be written (the destination is then untouched).
    public static func write(_ index: FlatIndex, to path: String) throws {
        var rows = index.rows
        rows.compact()
        let n = rows.count
        let codeBytes = n * rows.bytesPerCode
        let idsOffset = align8(headerSize + codeBytes)
        let fileSize = idsOffset + 8 * n
        var header = ByteWriter()
        header.append(bytes: magic)
        header.append(version)
        header.append(UInt32(rows.bits))
        header.append(UInt64(n))
        header.append(bitOrderMSBFirst)
        header.append(UInt32(headerSize))
        header.append(UInt64(headerSize))
        header.append(UInt64(idsOffset))
        header.append(UInt64(fileSize))
        header.append(UInt64(0))  // checksum, patched below
        let padding = [UInt8](repeating: 0, count: idsOffset - headerSize - codeBytes)
        try rows.withRows { codes, ids, _ in
            // Ids are written little-endian whatever the host.
            let idBytes = [UInt64](unsafeUninitializedCapacity: n) { buf, c in
                for i in 0..<n { buf[i] = ids[i].littleEndian }
                c = n
            }
            var hasher = XXHash64()
            hasher.update(header.bytes)
            hasher.update(codes, count: codeBytes)
            hasher.update(padding)
            idBytes.withUnsafeBytes { if let b = $0.baseAddress { hasher.update(b, count: $0.count) } }
            header.patch(hasher.finalize(), at: checksumOffset)
            try writeFileAtomically(path) { w in
                try w.write(header.bytes)
                try w.write(codes, count: codeBytes)
                try w.write(padding)
                try idBytes.withUnsafeBytes { if let b = $0.baseAddress { try w.write(b, count: $0.count) } }
            }
        }
    }

    /// Maps `path` read-only and returns an index reading its codes and ids in place.
    /// - Parameters:
    ///   - path: an index file written by `write(_:to:)`.
    ///   - verifyChecksum: recompute the XXH64 checksum (reads the whole file once; on by default).
    /// - Throws: `BihashError.io` when the file cannot be opened or mapped, `.invalidFormat` when its magic,
    ///   version, sizes, padding bits or checksum are wrong.
    public static func open(_ path: String, verifyChecksum: Bool = true) throws -> FlatIndex {
        guard hostIsLittleEndian else { throw BihashError.invalidState("index files are mapped in place only on little-endian hosts") }
        let file = try MappedFile(path: path)
        let what = "index file \(path)"
        let r = ByteReader(base: file.base, count: file.count, what: what)
        guard file.count >= headerSize else {
            throw BihashError.invalidFormat("\(what): truncated: \(file.count) bytes, the header alone needs \(headerSize)")
        }
        let fileMagic = try r.bytes(at: 0, count: 8)
        guard fileMagic == magic else {
            throw BihashError.invalidFormat("\(what): wrong magic \(fileMagic) (expected \"BIHASHIX\"); HINT: is this a bihash index file? codes files start with \"BIHCODES\"")
        }
        let fileVersion = try r.read(UInt32.self, at: 8)
        guard fileVersion == version else {
            throw BihashError.invalidFormat("\(what): unsupported version \(fileVersion); this build reads version \(version)")
        }
        let bits = Int(try r.read(UInt32.self, at: 12))
        guard (1...PackedCodes.maxBits).contains(bits) else {
            throw BihashError.invalidFormat("\(what): bits per code is \(bits), expected 1...\(PackedCodes.maxBits)")
        }
        let count64 = try r.read(UInt64.self, at: 16)
        guard count64 <= UInt64(FlatIndex.maxRows) else {
            throw BihashError.invalidFormat("\(what): item count \(count64) exceeds the limit \(FlatIndex.maxRows)")
        }
        let n = Int(count64)
        let bitOrder = try r.read(UInt32.self, at: 24)
        guard bitOrder == bitOrderMSBFirst else {
            throw BihashError.invalidFormat("\(what): unknown bit order \(bitOrder) (1 = MSB-first is the only one)")
        }
        let hsize = try r.read(UInt32.self, at: 28)
        guard hsize == UInt32(headerSize) else {
            throw BihashError.invalidFormat("\(what): header size \(hsize), expected \(headerSize)")
        }
        let bpc = (bits + 7) / 8
        // n ≤ 2³¹ and bpc ≤ 512: these products cannot overflow Int.
        let codeBytes = n * bpc
        let expectedIDs = align8(headerSize + codeBytes)
        let expectedSize = expectedIDs + 8 * n
        let codesOffset = try r.read(UInt64.self, at: 32)
        guard codesOffset == UInt64(headerSize) else {
            throw BihashError.invalidFormat("\(what): codes offset \(codesOffset), expected \(headerSize)")
        }
        let idsOffset = try r.read(UInt64.self, at: 40)
        guard idsOffset == UInt64(expectedIDs) else {
            throw BihashError.invalidFormat("\(what): ids offset \(idsOffset), expected \(expectedIDs) for \(n) codes of \(bits) bits")
        }
        let declaredSize = try r.read(UInt64.self, at: 48)
        guard declaredSize == UInt64(expectedSize) else {
            throw BihashError.invalidFormat("\(what): header declares \(declaredSize) bytes, expected \(expectedSize) for \(n) codes of \(bits) bits")
        }
        guard file.count == expectedSize else {
            throw BihashError.invalidFormat("\(what): file has \(file.count) bytes but its header describes \(expectedSize) (\(file.count < expectedSize ? "truncated" : "trailing data"))")
        }
        let pad = PackedCodes.paddingMask(bits: bits)
        if pad != 0 {
            for i in 0..<n where file.base.load(fromByteOffset: headerSize + i * bpc + bpc - 1, as: UInt8.self) & pad != 0 {
                throw BihashError.invalidFormat("\(what): code \(i) has non-zero padding bits")
            }
        }
        for i in (headerSize + codeBytes)..<expectedIDs where file.base.load(fromByteOffset: i, as: UInt8.self) != 0 {
            throw BihashError.invalidFormat("\(what): non-zero alignment padding at offset \(i)")
        }
        if verifyChecksum {
            let stored = try r.read(UInt64.self, at: checksumOffset)
            var hasher = XXHash64()
            hasher.update(file.base, count: checksumOffset)
            hasher.update([UInt8](repeating: 0, count: 8))
            hasher.update(file.base + headerSize, count: file.count - headerSize)
            let actual = hasher.finalize()
            guard stored == actual else {
                throw BihashError.invalidFormat("\(what): checksum mismatch (stored \(hex(stored)), computed \(hex(actual))): the file is corrupted")
            }
        }
        return FlatIndex(rows: RowStore(bits: bits, count: n, file: file, codesOffset: headerSize, idsOffset: expectedIDs))
    }

    static func align8(_ x: Int) -> Int { (x + 7) & ~7 }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - s.count) + s
    }
}

extension FlatIndex {
    /// Saves the live items to an index file, atomically; see `IndexFile` for the format.
    /// - Throws: `BihashError.io` when the file cannot be written.
    public func save(to path: String) throws {
        try IndexFile.write(self, to: path)
    }

    /// Opens an index file by `mmap`, read-only, without copying the codes; see `IndexFile.open`.
    /// Adding to the opened index copies its rows into memory first; removing only adds tombstones.
    /// - Throws: `BihashError.io` or `.invalidFormat` with the reason.
    public static func open(_ path: String, verifyChecksum: Bool = true) throws -> FlatIndex {
        try IndexFile.open(path, verifyChecksum: verifyChecksum)
    }
}
