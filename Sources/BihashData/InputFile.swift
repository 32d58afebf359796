import BihashCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only file opened with POSIX `open`, for readers that must check sizes before they allocate.
///
/// Every failure becomes `BihashError.io` naming the path and the operating system's reason.
final class InputFile {
    let path: String
    private let fd: Int32
    /// Size of the file in bytes, from `fstat`.
    let size: Int

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            throw BihashError.io("cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        var st = stat()
        if fstat(fd, &st) != 0 {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw BihashError.io("cannot stat '\(path)': \(reason)")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw BihashError.io("'\(path)' is a directory, expected a file")
        }
        self.fd = fd
        self.size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Reads exactly `count` bytes at `offset`; throws `invalidFormat` (truncated) if the file ends first.
    func read(count: Int, at offset: Int, what: String) throws -> [UInt8] {
        if count == 0 { return [] }
        guard offset >= 0, count > 0, offset <= size, count <= size - offset else {
            // `offset + count` may overflow for a hostile count: report the two numbers instead of their sum.
            throw BihashError.invalidFormat(
                "'\(path)' is truncated: \(what) needs \(count) bytes at offset \(offset) but the file has \(size) bytes")
        }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        try out.withUnsafeMutableBytes { buf in
            while done < count {
                let n = pread(fd, buf.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw BihashError.io("cannot read '\(path)': \(String(cString: strerror(errno)))")
                }
                if n == 0 {
                    throw BihashError.invalidFormat(
                        "'\(path)' is truncated: \(what) ended after \(done) of \(count) bytes at offset \(offset)")
                }
                done += n
            }
        }
        return out
    }
}
