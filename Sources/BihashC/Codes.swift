// bihash_codes: codes files, .npy codes, serialisation.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CBihashABI
import BihashCore
import BihashIndex

/// A codes file in memory, with fixed-address copies of its bytes and names for the getters.
final class CodesHandle: Handle {
    override class var typeName: String { "bihash_codes" }
    let file: CodesFile
    /// Whether the fingerprint is known (not all zeros).
    let hasFingerprint: Bool
    let bytes: StableBuffer<UInt8>
    let names: StableStrings?

    init(_ file: CodesFile) {
        self.file = file
        hasFingerprint = file.fingerprint.contains { $0 != 0 }
        bytes = StableBuffer(file.codes.bytes)
        names = file.names.map { StableStrings($0) }
    }
}

/// The C entry point `bihash_codes_new`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_codes_new")
public func bihashV1_codes_new(_ bits: Int32, _ codes: UnsafePointer<UInt8>?, _ n: Int, _ fingerprint: UnsafePointer<UInt8>?,
                               _ names: UnsafePointer<UnsafePointer<CChar>?>?,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_codes_new") {
        let out = try nonNull(out, "out")
        let k = try validBits(bits)
        let packed = try packedCodes(codes, count: n, bits: k, "codes")
        let fp = fingerprint.map { Array(UnsafeBufferPointer(start: $0, count: CodesFile.fingerprintSize)) }
            ?? [UInt8](repeating: 0, count: CodesFile.fingerprintSize)
        var nameList: [String]?
        if let names {
            nameList = try (0..<n).map { i in try string(names[i], "names[\(i)]") }
        }
        out.pointee = retainedHandle(CodesHandle(try CodesFile(codes: packed, fingerprint: fp, names: nameList)))
    }
}

/// Whether the file at `path` starts with the `.npy` magic (an unreadable file is left to the readers to report).
private func looksLikeNPY(_ path: String) -> Bool {
    guard let f = fopen(path, "rb") else { return false }
    defer { fclose(f) }
    var magic = [UInt8](repeating: 0, count: 6)
    let n = magic.withUnsafeMutableBytes { fread($0.baseAddress, 1, 6, f) }
    return n == 6 && magic == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
}

/// Reads `<path>.names` (one name per line) if it exists.
private func readSidecarNames(_ path: String, count: Int) throws -> [String]? {
    let sidecar = path + ".names"
    guard access(sidecar, F_OK) == 0 else { return nil }
    guard let f = fopen(sidecar, "rb") else {
        throw BihashError.io("cannot open '\(sidecar)': \(String(cString: strerror(errno)))")
    }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, 65536, f) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
        if bytes.count > 1 << 30 { throw BihashError.limitExceeded("'\(sidecar)' is larger than 1 GiB") }
    }
    var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    guard lines.count == count else {
        throw BihashError.invalidFormat("'\(sidecar)' has \(lines.count) names but the codes file has \(count) codes")
    }
    return lines
}

/// The C entry point `bihash_codes_load`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_codes_load")
public func bihashV1_codes_load(_ path: UnsafePointer<CChar>?, _ bits: Int32,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_codes_load") {
        let out = try nonNull(out, "out")
        let p = try string(path, "path")
        let k = bits == 0 ? nil : Optional(try validBits(bits))
        let file: CodesFile
        if looksLikeNPY(p) {
            let codes = try NPYCodes.read(p, bits: k)
            file = try CodesFile(codes: codes, names: try readSidecarNames(p, count: codes.count))
        } else {
            file = try CodesFile.read(p)
            if let k, k != file.codes.bits {
                throw ABIError.invalidArgument("'\(p)' holds \(file.codes.bits)-bit codes but bits is \(k) (pass 0 or \(file.codes.bits))")
            }
        }
        out.pointee = retainedHandle(CodesHandle(file))
    }
}

/// The C entry point `bihash_codes_save`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_codes_save")
public func bihashV1_codes_save(_ codes: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded("bihash_codes_save") {
        let c: CodesHandle = try object(codes, "codes")
        try c.file.write(to: try string(path, "path"))
    }
}

/// The C entry point `bihash_codes_save_npy`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_codes_save_npy")
public func bihashV1_codes_save_npy(_ codes: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded("bihash_codes_save_npy") {
        let c: CodesHandle = try object(codes, "codes")
        let p = try string(path, "path")
        try NPYCodes.write(c.file.codes, to: p)
        if let names = c.file.names {
            if let bad = names.firstIndex(where: { $0.contains("\n") }) {
                throw ABIError.invalidArgument("name \(bad) contains a newline; the .names sidecar holds one name per line")
            }
            try writeFileAtomically(Array(names.map { $0 + "\n" }.joined().utf8), to: p + ".names")
        }
    }
}

/// The C entry point `bihash_codes_serialize`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_codes_serialize")
public func bihashV1_codes_serialize(_ codes: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                     _ size: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("bihash_codes_serialize") {
        let c: CodesHandle = try object(codes, "codes")
        let out = try nonNull(out, "out")
        let size = try nonNull(size, "size")
        let bytes = c.file.encoded()
        guard let buffer = malloc(Swift.max(1, bytes.count)) else {
            throw BihashError.limitExceeded("cannot allocate \(bytes.count) bytes")
        }
        bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress { buffer.copyMemory(from: base, byteCount: raw.count) }
        }
        out.pointee = buffer
        size.pointee = bytes.count
    }
}

/// The C entry point `bihash_codes_count`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_codes_count")
public func bihashV1_codes_count(_ codes: OpaquePointer?) -> Int {
    optionalObject(codes, as: CodesHandle.self)?.file.codes.count ?? 0
}

/// The C entry point `bihash_codes_bits`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_codes_bits")
public func bihashV1_codes_bits(_ codes: OpaquePointer?) -> Int32 {
    optionalObject(codes, as: CodesHandle.self).map { Int32($0.file.codes.bits) } ?? 0
}

/// The C entry point `bihash_codes_data`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_codes_data")
public func bihashV1_codes_data(_ codes: OpaquePointer?) -> UnsafePointer<UInt8>? {
    optionalObject(codes, as: CodesHandle.self).map { UnsafePointer($0.bytes.pointer) }
}

/// The C entry point `bihash_codes_name`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_codes_name")
public func bihashV1_codes_name(_ codes: OpaquePointer?, _ i: Int) -> UnsafePointer<CChar>? {
    guard let c = optionalObject(codes, as: CodesHandle.self), let names = c.names,
          i >= 0, i < names.pointers.count, let p = names.pointers[i] else { return nil }
    return UnsafePointer(p)
}

/// The C entry point `bihash_codes_fingerprint`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_codes_fingerprint")
public func bihashV1_codes_fingerprint(_ codes: OpaquePointer?, _ out: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guarded("bihash_codes_fingerprint") {
        let c: CodesHandle = try object(codes, "codes")
        let out = try nonNull(out, "out")
        guard c.hasFingerprint else {
            throw ABIError.invalidState("these codes carry no model fingerprint (all zeros: made without a model)")
        }
        for (i, b) in c.file.fingerprint.enumerated() { out[i] = b }
    }
}

/// The C entry point `bihash_codes_free`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_codes_free")
public func bihashV1_codes_free(_ codes: OpaquePointer?) {
    releaseHandle(codes)
}
