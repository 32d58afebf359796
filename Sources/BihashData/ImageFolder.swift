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

    /// An image data set read from a directory: its image files as model input rows, with class labels when the
    /// images are in class subdirectories.
    public struct Dataset: Sendable {
        /// [N, width · height · channels], each row as `ImageDecoder.inputRow` makes it.
        public let rows: Tensor<Float>
        /// The files, in row order.
        public let paths: [String]
        /// Class index of each row (the position of its subdirectory in `classNames`), or nil for a flat directory.
        public let labels: [Int]?
        /// The class subdirectory names, sorted by name (empty for a flat directory).
        public let classNames: [String]
    }

    /// Reads a directory of images as a data set. Either the directory holds image files (unlabelled rows, in
    /// name order), or it holds class subdirectories of image files (`photos/cat/1.jpg`, `photos/dog/2.png`, as
    /// torchvision's `ImageFolder`): subdirectories sorted by name are classes 0, 1, …, rows class by class.
    /// - Throws: `BihashError.io` for an unreadable directory; `.invalidArgument` when it holds no images, or both
    ///   images and class subdirectories; the decoder's errors naming the file.
    public static func loadDataset(directory: String, width: Int, height: Int, channels: Int) throws -> Dataset {
        let direct = try list(directory: directory)
        let classes = try subdirectories(of: directory).filter { try !list(directory: $0.path).isEmpty }
        if !direct.isEmpty && !classes.isEmpty {
            throw BihashError.invalidArgument("'\(directory)' holds both image files and class subdirectories (\(classes.map(\.name).joined(separator: ", "))); use one layout")
        }
        var paths: [String] = [], labels: [Int]? = nil
        if direct.isEmpty {
            guard !classes.isEmpty else {
                throw BihashError.invalidArgument("'\(directory)' holds no PNG or JPEG images (\(extensions.joined(separator: ", "))), directly or in class subdirectories")
            }
            var y: [Int] = []
            for (c, sub) in classes.enumerated() {
                let files = try list(directory: sub.path)
                paths += files
                y += [Int](repeating: c, count: files.count)
            }
            labels = y
        } else {
            paths = direct
        }
        let d = width * height * channels
        var scalars = [Float](repeating: 0, count: paths.count * d)
        // Decoding is independent per file: parallel chunks, each writing its own rows and its own error slot.
        let threads = Parallel.coreCount
        var failures = [Error?](repeating: nil, count: threads)
        scalars.withUnsafeMutableBufferPointer { out in
            failures.withUnsafeMutableBufferPointer { errors in
                let base = out.baseAddress!, errorSlots = errors.baseAddress!
                Parallel.forEachChunk(count: paths.count, threads: threads) { chunk, range in
                    for i in range {
                        do {
                            let row = try ImageDecoder.inputRow(path: paths[i], width: width, height: height, channels: channels)
                            row.withUnsafeBufferPointer { (base + i * d).update(from: $0.baseAddress!, count: d) }
                        } catch {
                            errorSlots[chunk] = error
                            return
                        }
                    }
                }
            }
        }
        let failure = failures.compactMap { $0 }.first
        if let failure { throw failure }
        return Dataset(rows: Tensor(uncheckedShape: [paths.count, d], scalars: scalars), paths: paths, labels: labels,
                       classNames: labels == nil ? [] : classes.map(\.name))
    }

    /// The non-hidden subdirectories of `directory`, sorted by name in byte order.
    static func subdirectories(of directory: String) throws -> [(name: String, path: String)] {
        guard let dir = opendir(directory) else {
            throw BihashError.io("cannot list directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            var st = stat()
            if stat(prefix + name, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { names.append(name) }
        }
        names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        return names.map { ($0, prefix + $0) }
    }
}
