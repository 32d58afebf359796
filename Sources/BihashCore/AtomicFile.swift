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
/// Leftovers: a process killed while writing leaves its temporary file `<path>.tmp-<pid>-<random>-<attempt>`
/// behind (the destination is intact). The writer holds an exclusive `flock` on its temporary file from creation
/// until after the rename, and every new writer of `path` first deletes the temporary files of `path` that nobody
/// holds locked — those of dead processes, whose locks the kernel released. So leftovers never accumulate beyond
/// the one of the last killed writer, and a live writer's file is never touched (`Tests/BihashCLITests/
/// CrashSafetyTests.swift` kills writers hundreds of times to show both).
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
        AtomicFileWriter.removeLeftovers(of: path)
        var opened: Int32 = -1
        var candidate = ""
        var failure = EEXIST
        // A unique temporary name next to the destination (same file system, so rename is atomic).
        for attempt in 0..<100 {
            candidate = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(attempt)"
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd < 0 {
                failure = errno
                if failure == EEXIST { continue }
                break
            }
            // Locked, the file is ours until we close it. Another writer's cleanup may have deleted it between
            // `open` and `flock` (it was unlocked then): if the name no longer leads to it, take another name.
            // Without flock support (some network file systems) nobody can lock it, so no cleanup removes it.
            if flock(fd, LOCK_EX) == 0, !AtomicFileWriter.nameLeads(candidate, to: fd) {
                close(fd)
                continue
            }
            opened = fd
            break
        }
        guard opened >= 0 else {
            throw BihashError.io("cannot create a temporary file next to \(path): \(String(cString: strerror(failure)))")
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
        // Renamed while still open, hence locked: a cleanup never sees an unlocked temporary file that is about
        // to become the destination.
        if rename(tempPath, path) != 0 {
            let message = String(cString: strerror(errno))
            unlink(tempPath)
            close(fd)
            fd = -1
            throw BihashError.io("cannot rename the temporary file to \(path): \(message)")
        }
        close(fd)
        fd = -1
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
            unlink(tempPath)
            close(fd)
            fd = -1
        }
    }

    /// Deletes the temporary files of `path` that no live writer holds: names `<file>.tmp-<digits>-<digits>-<digits>`
    /// next to `path` that are regular files (symbolic links are not followed) and can be locked at once.
    /// Best effort: any failure leaves the file where it is.
    public static func removeLeftovers(of path: String) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let prefix = (slash.map { String(path[path.index(after: $0)...]) } ?? path) + ".tmp-"
        guard let dir = opendir(directory.isEmpty ? "/" : directory) else { return }
        var names: [String] = []
        // d_name is read in place as a C string: an entry is only d_reclen bytes long, often fewer than
        // MemoryLayout<dirent>.size, so copying the whole d_name array would read past the end of the last one.
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(dir) {
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name.hasPrefix(prefix), isTemporarySuffix(name.dropFirst(prefix.count)) { names.append(name) }
        }
        closedir(dir)
        for name in names {
            let full = (directory.isEmpty ? "" : directory) + "/" + name
            let fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            if fd < 0 { continue }
            var st = stat()
            // Unlocked means its writer is gone (or has just renamed it away, which nameLeads catches).
            if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, flock(fd, LOCK_EX | LOCK_NB) == 0,
               nameLeads(full, to: fd) {
                unlink(full)
            }
            close(fd)
        }
    }

    /// `<digits>-<digits>-<digits>`: the part of a temporary name after `.tmp-`.
    static func isTemporarySuffix(_ s: Substring) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
    }

    /// Whether `name` still names the file open as `fd` (same device and inode), not a link or another file.
    static func nameLeads(_ name: String, to fd: Int32) -> Bool {
        var a = stat(), b = stat()
        return fstat(fd, &a) == 0 && lstat(name, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino
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
