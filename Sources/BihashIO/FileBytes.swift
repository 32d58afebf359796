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

    /// Writes `bytes` to `path` atomically (BihashCore's `AtomicFileWriter`: temporary file, fsync, rename,
    /// directory fsync); readers see the old file or the new one, never a partial write.
    static func writeAtomically(_ bytes: [UInt8], to path: String, what: String) throws {
        try require(!path.isEmpty, "\(what): the path is empty")
        try writeFileAtomically(bytes, to: path)
    }
}
