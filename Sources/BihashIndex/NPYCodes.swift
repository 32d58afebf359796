import BihashCore

/// Codes as a NumPy `.npy` file: a 2-D `uint8` array [N, ⌈K/8⌉] in C order, each row one code packed MSB-first
/// (`numpy.packbits(bits, axis=1)` produces it, `numpy.unpackbits(codes, axis=1)[:, :K]` reverses it).
///
/// Only this one array form is read or written; general `.npy` handling lives in BihashData.
public enum NPYCodes {
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
    /// - Throws: `BihashError.io` when unreadable; `.invalidFormat` for another dtype, Fortran order, another
    ///   rank, a size mismatch or non-zero padding bits.
    public static func read(_ path: String, bits: Int? = nil) throws -> PackedCodes {
        let file = try MappedFile(path: path)
        return try decode(UnsafeRawBufferPointer(start: file.base, count: file.count), bits: bits, source: ".npy file \(path)")
    }

    /// Decodes `.npy` bytes; see `read(_:bits:)`.
    public static func decode(_ data: UnsafeRawBufferPointer, bits: Int? = nil, source: String = ".npy data") throws -> PackedCodes {
        let what = source
        guard data.count >= 10, let base = data.baseAddress,
              Array(data[0..<6]) == [0x93] + Array("NUMPY".utf8) else {
            throw BihashError.invalidFormat("\(what): not an .npy file (bad magic)")
        }
        let r = ByteReader(base: base, count: data.count, what: what)
        let major = data[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(try r.read(UInt16.self, at: 8)); headerStart = 10
        case 2, 3: headerLength = Int(try r.read(UInt32.self, at: 8)); headerStart = 12
        default: throw BihashError.invalidFormat("\(what): unsupported .npy version \(major)")
        }
        guard headerLength <= 1 << 16 else { throw BihashError.invalidFormat("\(what): header of \(headerLength) bytes is too long") }
        let headerBytes = try r.bytes(at: headerStart, count: headerLength)
        guard let header = String(validating: headerBytes, as: UTF8.self) else {
            throw BihashError.invalidFormat("\(what): header is not text")
        }
        let compact = header.filter { !$0.isWhitespace }
        guard compact.contains("'descr':'|u1'") || compact.contains("'descr':'<u1'") || compact.contains("'descr':'u1'") else {
            throw BihashError.invalidFormat("\(what): expected dtype uint8 ('|u1'), header is \(header.trimmingCharacters())")
        }
        guard compact.contains("'fortran_order':False") else {
            throw BihashError.invalidFormat("\(what): Fortran-order arrays are not supported")
        }
        guard let shapeStart = compact.range(of: "'shape':("),
              let shapeEnd = compact[shapeStart.upperBound...].firstIndex(of: ")") else {
            throw BihashError.invalidFormat("\(what): header has no shape")
        }
        let dims = compact[shapeStart.upperBound..<shapeEnd].split(separator: ",").map { Int($0) }
        guard dims.count == 2, let n = dims[0], let b = dims[1], n >= 0, b >= 1 else {
            throw BihashError.invalidFormat("\(what): expected a 2-D shape (N, bytes per code), got (\(compact[shapeStart.upperBound..<shapeEnd]))")
        }
        // b ≤ 512 before 8·b is formed (a hostile row width such as 2^62 would overflow it).
        guard b <= (PackedCodes.maxBits + 7) / 8 else {
            throw BihashError.invalidFormat("\(what): rows of \(b) bytes exceed the widest code, \(PackedCodes.maxBits) bits (\((PackedCodes.maxBits + 7) / 8) bytes)")
        }
        let k = bits ?? 8 * b
        try PackedCodes.validateBits(k)
        guard (k + 7) / 8 == b else {
            throw BihashError.invalidFormat("\(what): rows of \(b) bytes cannot hold \(k)-bit codes (need \((k + 7) / 8))")
        }
        let dataStart = headerStart + headerLength
        let (total, overflow) = n.multipliedReportingOverflow(by: b)
        guard !overflow, data.count - dataStart == total else {
            throw BihashError.invalidFormat("\(what): shape (\(n), \(b)) needs \(overflow ? "too many" : String(total)) data bytes, file has \(data.count - dataStart)")
        }
        do {
            return try PackedCodes(bits: k, count: n, bytes: try r.bytes(at: dataStart, count: total))
        } catch let e as BihashError {
            throw BihashError.invalidFormat("\(what): \(e.message)")
        }
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
