#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BihashCore

/// Whole-file reads and atomic whole-file writes with POSIX calls, every failure a `BihashError.io`
/// naming the path and the system's reason.
enum FileBytes {
    private static func reason() -> String { String(cString: strerror(errno)) }

    /// The bytes of the regular file at `path`.
    /// - Parameter limit: largest size accepted; a larger file throws `BihashError.limitExceeded` before
    ///   anything is allocated.
    static func load(path: String, limit: Int, what: String) throws -> [UInt8] {
        try require(!path.isEmpty, "\(what): the path is empty")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BihashError.io("cannot open \(what) \(path): \(reason())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw BihashError.io("cannot stat \(what) \(path): \(reason())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw BihashError.io("\(what) \(path) is not a regular file") }
        guard st.st_size >= 0, UInt64(st.st_size) <= UInt64(limit) else {
            throw BihashError.limitExceeded("\(what) \(path) has \(st.st_size) bytes, more than the limit of \(limit)")
        }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        try bytes.withUnsafeMutableBytes { buf in
            while done < size {
                let n = read(fd, buf.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw BihashError.io("cannot read \(what) \(path): \(reason())")
                }
                if n == 0 { break }
                done += n
            }
        }
        guard done == size else {
            throw BihashError.io("\(what) \(path) changed while being read (\(done) of \(size) bytes)")
        }
        return bytes
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same directory is written, flushed to
    /// disk (`fsync`) and renamed over `path`, then the directory is synced. Readers see the old file or the
    /// new one, never a partial write; on failure the temporary file is removed and `path` is untouched.
    static func writeAtomically(_ bytes: [UInt8], to path: String, what: String) throws {
        try require(!path.isEmpty, "\(what): the path is empty")
        try require(!path.hasSuffix("/"), "\(what): \(path) names a directory, not a file")
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var fd: Int32 = -1
        var temp = ""
        for attempt in 0..<16 {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            temp = "\(directory)/.\(base).\(getpid()).\(attempt).\(suffix).tmp"
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw BihashError.io("cannot create a temporary file in \(directory) for \(what) \(path): \(reason())") }
        var committed = false
        defer {
            if fd >= 0 { close(fd) }
            if !committed { unlink(temp) }
        }
        var done = 0
        try bytes.withUnsafeBytes { buf in
            while done < buf.count {
                let n = write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw BihashError.io("cannot write \(what) \(path): \(reason())")
                }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw BihashError.io("cannot flush \(what) \(path) to disk: \(reason())") }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw BihashError.io("cannot close \(what) \(path): \(reason())") }
        guard rename(temp, path) == 0 else { throw BihashError.io("cannot move \(what) into place at \(path): \(reason())") }
        committed = true
        // Persist the rename itself; failure here does not undo the write, so it is not reported.
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 { _ = fsync(dirfd); close(dirfd) }
    }
}
