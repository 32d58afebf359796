#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BihashCore

/// Little-endian serialisation into a growing byte array (file headers).
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func append<I: FixedWidthInteger>(_ value: I) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(bytes other: [UInt8]) { bytes.append(contentsOf: other) }

    /// Appends zero bytes up to a total length of `length`.
    mutating func pad(to length: Int) {
        if bytes.count < length { bytes.append(contentsOf: [UInt8](repeating: 0, count: length - bytes.count)) }
    }

    /// Overwrites 8 bytes at `offset` with `value` (used to fill the checksum field last).
    mutating func patch(_ value: UInt64, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for i in 0..<8 { bytes[offset + i] = raw[i] }
        }
    }
}

/// Bounds-checked little-endian reads from a byte buffer; every read past the end throws `.invalidFormat`.
struct ByteReader {
    let base: UnsafeRawPointer
    let count: Int
    /// What is being read, for error messages ("index file /tmp/x.bhidx").
    let what: String

    func read<I: FixedWidthInteger>(_ type: I.Type, at offset: Int) throws -> I {
        let size = MemoryLayout<I>.size
        guard offset >= 0, offset <= count - size else {
            throw BihashError.invalidFormat("\(what): truncated, cannot read \(size) bytes at offset \(offset) of \(count)")
        }
        return I(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: I.self))
    }

    func bytes(at offset: Int, count n: Int) throws -> [UInt8] {
        guard offset >= 0, n >= 0, offset <= count - n else {
            throw BihashError.invalidFormat("\(what): truncated, cannot read \(n) bytes at offset \(offset) of \(count)")
        }
        return Array(UnsafeRawBufferPointer(start: base + offset, count: n))
    }
}

/// A whole file mapped read-only into memory (`mmap(PROT_READ, MAP_PRIVATE)`), unmapped when released.
///
/// The pages are shared with the page cache: opening an index this way copies nothing, and several processes
/// opening the same file share one copy in RAM.
final class MappedFile: @unchecked Sendable {
    /// First byte of the mapping (a valid non-null address even for an empty file).
    let base: UnsafeRawPointer
    /// File size in bytes.
    let count: Int
    /// Path, for error messages.
    let path: String
    private let mapping: UnsafeMutableRawPointer?

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BihashError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw BihashError.io("cannot stat \(path): \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw BihashError.io("\(path) is not a regular file") }
        let size = Int(st.st_size)
        self.path = path
        self.count = size
        if size == 0 {
            mapping = nil
            base = UnsafeRawPointer(bitPattern: 0x10)!  // never dereferenced: every read is bounds-checked against 0
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw BihashError.io("cannot mmap \(path) (\(size) bytes): \(String(cString: strerror(errno)))")
        }
        mapping = p
        base = UnsafeRawPointer(p)
    }

    /// Asks the kernel to read the pages ahead (`MADV_WILLNEED`); a hint, failures are ignored.
    func adviseWillNeed() {
        if let mapping { _ = madvise(mapping, count, MADV_WILLNEED) }
    }

    deinit {
        if let mapping { munmap(mapping, count) }
    }
}

/// Whether this machine stores integers little-endian (every platform bihash supports does; mapped ids rely on it).
let hostIsLittleEndian: Bool = (1 as UInt16).littleEndian == 1
