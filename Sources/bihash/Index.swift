import ArgumentParser
import CBihashABI
import Foundation

/// `bihash index`: index files.
struct Index: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build index files.", subcommands: [Build.self])

    /// `bihash index build`: builds an index of a codes file; item ids are the rows (0, 1, …) and the item
    /// names go to `<index>.names`, one per line, for `bihash search`.
    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build an index from a codes file (or a .npy uint8 array with --bits).",
            discussion: "Ids are the rows 0, 1, …; item names, if the codes have them, are written to INDEX.names.")

        @Argument(help: "Codes file written by `bihash encode`, or a .npy uint8 array [N, ceil(K/8)].")
        var codes: String

        @Option(help: "K for a .npy array (default 8 × columns); for a codes file, 0 or its exact width.")
        var bits: Int = 0

        @Option(name: [.short, .customLong("output")], help: "Index file to write.")
        var output: String

        func run() throws {
            let codes = try loadCodes(self.codes, bits: bits)
            defer { bihash_codes_free(codes) }
            let count = bihash_codes_count(codes)
            var index: OpaquePointer?
            try check(bihash_index_new(bihash_codes_bits(codes), &index))
            defer { bihash_index_free(index) }
            try check(bihash_index_add(index, bihash_codes_data(codes), count, nil), self.codes)
            try check(bihash_index_save(index, output), output)

            let namesPath = output + ".names"
            if count > 0, bihash_codes_name(codes, 0) != nil {
                let names = (0..<count).map { bihash_codes_name(codes, $0).map { String(cString: $0) } ?? "\($0)" }
                do {
                    try (names.joined(separator: "\n") + "\n").write(toFile: namesPath, atomically: true, encoding: .utf8)
                } catch {
                    throw Failure("\(namesPath): \(error.localizedDescription)")
                }
            } else if FileManager.default.fileExists(atPath: namesPath) {
                try? FileManager.default.removeItem(atPath: namesPath)
            }
        }
    }
}
