import BihashCore

/// Codes as a NumPy `.npy` file: a 2-D `uint8` array [N, ⌈K/8⌉] in C order, each row one code packed MSB-first
/// (`numpy.packbits(bits, axis=1)` produces it, `numpy.unpackbits(codes, axis=1)[:, :K]` reverses it).
///
/// Only this one array form is read or written; general `.npy` handling lives in BihashData. Both parse and validate
/// the header with BihashCore's `NPYHeader` (same checks, limits and messages), here with a header of at most 64 KiB.
public enum NPYCodes {
    /// Largest header accepted: a [N, B] uint8 header takes about a hundred bytes.
    static let maxHeaderLength = 1 << 16

    /// Writes `codes` as an `.npy` uint8 array [N, ⌈K/8⌉] (format version 1.0), atomically.
    /// - Throws: `BihashError.io` when the file cannot be written.
    public static func write(_ codes: PackedCodes, to path: String) throws {
        let bytes = encoded(codes)
        try writeFileAtomically(path) { try $0.write(bytes) }
    }

    /// The `.npy` bytes of `codes`.
    public static func encoded(_ codes: PackedCodes) -> [UInt8] {
        var dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (\(codes.count), \(codes.bytesPerCode)), }"
        // Magic (6) + version (2) + length (2) + dict + "\n" is padded with spaces to a multiple of 64.
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        out.append(UInt8(dict.utf8.count & 0xFF))
        out.append(UInt8(dict.utf8.count >> 8))
        out.append(contentsOf: dict.utf8)
        out.append(contentsOf: codes.bytes)
        return out
    }

    /// Reads an `.npy` uint8 array [N, B] as N codes of `bits` bits (default 8·B; ⌈bits/8⌉ must equal B).
    /// - Throws: `BihashError.io` when unreadable; `.invalidFormat` for a malformed header (see `NPYHeader`), another
    ///   dtype, Fortran order, another rank, a size mismatch or non-zero padding bits; `.limitExceeded` for a header
    ///   over 64 KiB or a shape whose byte count overflows. Messages name `path`.
    public static func read(_ path: String, bits: Int? = nil) throws -> PackedCodes {
        let file = try MappedFile(path: path)
        return try decode(UnsafeRawBufferPointer(start: file.base, count: file.count), bits: bits, source: path)
    }

    /// Decodes `.npy` bytes; see `read(_:bits:)`. `source` names the data in error messages.
    public static func decode(_ data: UnsafeRawBufferPointer, bits: Int? = nil, source: String = ".npy data") throws -> PackedCodes {
        let header = try NPYHeader(bytes: data, source: source, maxHeaderLength: maxHeaderLength)
        guard header.dataType == .uint8 else {
            throw BihashError.invalidFormat("'\(source)': expected dtype uint8 ('|u1'), found '\(header.dataType)'")
        }
        guard header.shape.count == 2, header.shape[1] >= 1 else {
            throw BihashError.invalidFormat("'\(source)': expected a 2-D shape (N, bytes per code), got \(header.shape)")
        }
        let n = header.shape[0], b = header.shape[1]
        // b ≤ 512 before 8·b is formed (a hostile row width such as 2^62 would overflow it).
        guard b <= (PackedCodes.maxBits + 7) / 8 else {
            throw BihashError.invalidFormat("'\(source)': rows of \(b) bytes exceed the widest code, \(PackedCodes.maxBits) bits (\((PackedCodes.maxBits + 7) / 8) bytes)")
        }
        let k = bits ?? 8 * b
        try PackedCodes.validateBits(k)
        guard (k + 7) / 8 == b else {
            throw BihashError.invalidFormat("'\(source)': rows of \(b) bytes cannot hold \(k)-bit codes (need \((k + 7) / 8))")
        }
        try header.validatePayloadLength(data.count - header.dataOffset, source: source)
        do {
            return try PackedCodes(bits: k, count: n, bytes: Array(data[header.dataOffset...]))
        } catch let e as BihashError {
            throw BihashError.invalidFormat("'\(source)': \(e.message)")
        }
    }
}
