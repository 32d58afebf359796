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

/// Writes a file atomically: the bytes go to a temporary file in the same directory, which is flushed
/// (`fsync`) and then renamed over the destination, so readers see either the old file or the complete new one.
struct AtomicFileWriter {
    let path: String
    private let tempPath: String
    private var fd: Int32

    init(path: String) throws {
        try require(!path.isEmpty, "output path is empty")
        self.path = path
        var opened: Int32 = -1
        var candidate = ""
        // A unique temporary name next to the destination (same file system, so rename is atomic).
        for attempt in 0..<100 {
            candidate = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(attempt)"
            opened = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if opened >= 0 || errno != EEXIST { break }
        }
        guard opened >= 0 else {
            throw BihashError.io("cannot create a temporary file next to \(path): \(String(cString: strerror(errno)))")
        }
        tempPath = candidate
        fd = opened
    }

    /// Appends `count` bytes at `data`.
    mutating func write(_ data: UnsafeRawPointer, count: Int) throws {
        var p = data, n = count
        while n > 0 {
            let w = Glibc.write(fd, p, Swift.min(n, 1 << 30))
            if w < 0 {
                if errno == EINTR { continue }
                let message = String(cString: strerror(errno))
                discard()
                throw BihashError.io("cannot write \(path): \(message)")
            }
            p += w; n -= w
        }
    }

    /// Appends `bytes`.
    mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            if let b = raw.baseAddress { try write(b, count: raw.count) }
        }
    }

    /// Flushes, closes and renames the temporary file over `path`, then flushes the directory entry.
    mutating func commit() throws {
        if fsync(fd) != 0 {
            let message = String(cString: strerror(errno))
            discard()
            throw BihashError.io("cannot flush \(path): \(message)")
        }
        close(fd)
        fd = -1
        if rename(tempPath, path) != 0 {
            let message = String(cString: strerror(errno))
            unlink(tempPath)
            throw BihashError.io("cannot rename the temporary file to \(path): \(message)")
        }
        // Make the rename itself durable.
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let dfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Closes and deletes the temporary file (after a failure); the destination is untouched.
    mutating func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
            unlink(tempPath)
        }
    }
}

/// Writes `bytes` to `path` atomically (temporary file + fsync + rename).
func writeFileAtomically(_ path: String, _ body: (inout AtomicFileWriter) throws -> Void) throws {
    var writer = try AtomicFileWriter(path: path)
    do {
        try body(&writer)
        try writer.commit()
    } catch {
        writer.discard()
        throw error
    }
}

/// Whether this machine stores integers little-endian (every platform bihash supports does; mapped ids rely on it).
let hostIsLittleEndian: Bool = (1 as UInt16).littleEndian == 1
