#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BihashCore

/// Lists image files for encoding: the PNG and JPEG files of a directory, in name order.
///
/// ```swift
/// let paths = try ImageFolder.expand(["photos/", "extra.jpg"])   // photos/a.png, photos/b.jpg, extra.jpg
/// ```
public enum ImageFolder {
    /// File extensions treated as images (compared case-insensitively).
    public static let extensions = ["png", "jpg", "jpeg"]

    /// Whether `name` ends in one of `extensions`.
    public static func isImageName(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: ".") else { return false }
        return extensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// The image files directly inside `directory` (not recursive, hidden files skipped), sorted by name in
    /// byte order, as `directory/name`.
    /// - Throws: `BihashError.io` naming the directory when it cannot be read.
    public static func list(directory: String) throws -> [String] {
        guard let dir = opendir(directory) else {
            throw BihashError.io("cannot list directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(".") || !isImageName(name) { continue }
            names.append(name)
        }
        names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return names.map { prefix + $0 }
    }

    /// Expands each path: a directory becomes its `list(directory:)`, anything else is kept as given.
    /// - Throws: as `list(directory:)`.
    public static func expand(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        for p in paths {
            var st = stat()
            if stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                out += try list(directory: p)
            } else {
                out.append(p)
            }
        }
        return out
    }
}
