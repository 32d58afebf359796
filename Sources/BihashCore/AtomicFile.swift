#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file atomically: the bytes go to a uniquely named temporary file in the same directory, which is
/// flushed (`fsync`) and then renamed over the destination, and the directory entry is flushed too. Readers see
/// either the old file or the complete new one, never a torn write; on failure the temporary file is removed and
/// the destination is untouched. Every failure is a `BihashError.io` naming the path and the system's reason.
///
/// All bihash files (models, codes, indexes, NPY) are written through this one type.
public struct AtomicFileWriter {
    public let path: String
    private let tempPath: String
    private var fd: Int32

    public init(path: String) throws {
        try require(!path.isEmpty, "output path is empty")
        try require(!path.hasSuffix("/"), "\(path) names a directory, not a file")
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
    public mutating func write(_ data: UnsafeRawPointer, count: Int) throws {
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
    public mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            if let b = raw.baseAddress { try write(b, count: raw.count) }
        }
    }

    /// Flushes, closes and renames the temporary file over `path`, then flushes the directory entry.
    public mutating func commit() throws {
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
        // Make the rename itself durable; a failure here does not undo the write, so it is not reported.
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let dfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Closes and deletes the temporary file (after a failure); the destination is untouched.
    public mutating func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
            unlink(tempPath)
        }
    }
}

/// Writes a file atomically through `body` (see `AtomicFileWriter`); any error discards the temporary file.
public func writeFileAtomically(_ path: String, _ body: (inout AtomicFileWriter) throws -> Void) throws {
    var writer = try AtomicFileWriter(path: path)
    do {
        try body(&writer)
        try writer.commit()
    } catch {
        writer.discard()
        throw error
    }
}

/// Writes `bytes` to `path` atomically (see `AtomicFileWriter`).
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    try writeFileAtomically(path) { try $0.write(bytes) }
}
