import ArgumentParser
import CBihashABI
import Foundation

/// `bihash search`: k-NN or radius search of query codes in an index.
struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search an index with query codes.",
        discussion: """
            Prints one line per result: query_name, rank (1-based), item_name and Hamming distance, separated \
            by tabs. Item names come from INDEX.names (written by `bihash index build`), else ids are printed; \
            query names come from the queries' codes file, else their row numbers. With --radius, every item \
            within the radius is listed (at most -k of them when -k is given).
            """)

    @Option(help: "Index file written by `bihash index build`.")
    var index: String

    @Option(help: "Query codes file (or .npy uint8 array with the index's width).")
    var queries: String

    @Option(name: .short, help: "Neighbours per query (default 10).")
    var k: Int?

    @Option(help: "List every item within this Hamming distance instead of the k nearest.")
    var radius: UInt32?

    @Flag(help: "Print a JSON array instead: one object per query and line, {query, results: [{rank, id, name, distance}]}.")
    var json = false

    struct Hit: Encodable {
        let rank: Int
        let id: UInt64
        let name: String
        let distance: UInt32
    }

    struct QueryResult: Encodable {
        let query: String
        let results: [Hit]
    }

    func validate() throws {
        if let k, k < 0 { throw ValidationError("-k must be ≥ 1, got \(k)") }
    }

    func run() throws {
        var index: OpaquePointer?
        try check(bihash_index_open(self.index, &index), self.index)
        defer { bihash_index_free(index) }
        let bits = Int(bihash_index_bits(index))
        let queries = try loadCodes(self.queries, bits: bits)
        defer { bihash_codes_free(queries) }
        guard Int(bihash_codes_bits(queries)) == bits else {
            throw Failure("\(self.queries): \(bihash_codes_bits(queries))-bit queries for a \(bits)-bit index")
        }
        if radius != nil && k == 0 { throw Failure("-k must be ≥ 1 (or left out with --radius), got 0") }
        let nq = bihash_codes_count(queries)
        let itemNames = readNames(self.index + ".names")
        let k = self.k ?? 10
        // The library pads rows beyond the index size; asking for more than `count` would only cost memory.
        let width = k == 0 ? 0 : min(k, max(bihash_index_count(index), 1))
        // Queries per library call, bounding memory: about a million k-NN results, or 256 radius queries.
        let chunk = radius != nil ? 256 : max(1, (1 << 20) / max(width, 1))

        var output = Output()
        if json { output.write("[") }
        var start = 0
        repeat {
            let n = min(chunk, nq - start)
            let lists = n == 0 ? [] : try search(index, bihash_codes_data(queries)! + start * codeBytes(bits), n, width)
            for (offset, list) in lists.enumerated() {
                let q = start + offset
                let result = QueryResult(
                    query: bihash_codes_name(queries, q).map { String(cString: $0) } ?? "\(q)",
                    results: list.enumerated().map { rank, hit in
                        Hit(rank: rank + 1, id: hit.id,
                            name: hit.id < UInt64(itemNames.count) ? itemNames[Int(hit.id)] : "\(hit.id)",
                            distance: hit.distance)
                    })
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    output.write((q == 0 ? "\n" : ",\n") + String(decoding: try encoder.encode(result), as: UTF8.self))
                } else {
                    for hit in result.results {
                        output.write("\(result.query)\t\(hit.rank)\t\(hit.name)\t\(hit.distance)\n")
                    }
                }
            }
            start += n
        } while start < nq
        if json { output.write("\n]\n") }
        output.flush()
    }

    /// Results of `n` queries at `codes`: the k nearest (`width` asked per query; padding dropped), or, with
    /// --radius, every item within the radius (at most -k when given).
    func search(_ index: OpaquePointer?, _ codes: UnsafePointer<UInt8>, _ n: Int,
                _ width: Int) throws -> [[(id: UInt64, distance: UInt32)]] {
        if let radius {
            var results: OpaquePointer?
            try check(bihash_index_search_radius(index, codes, n, radius, &results))
            defer { bihash_results_free(results) }
            return (0..<n).map { q in
                let count = min(bihash_results_count(results, q), k ?? Int.max)
                guard count > 0, let ids = bihash_results_ids(results, q),
                      let distances = bihash_results_distances(results, q) else { return [] }
                return (0..<count).map { (ids[$0], distances[$0]) }
            }
        }
        var ids = [UInt64](repeating: 0, count: n * width)
        var distances = [UInt32](repeating: 0, count: n * width)
        try check(bihash_index_search(index, codes, n, width, &ids, &distances))
        return (0..<n).map { q in
            (0..<width).map { (ids[q * width + $0], distances[q * width + $0]) }.filter { $0.id != UInt64.max }
        }
    }

    /// Lines of `path`, or none when it does not exist.
    func readNames(_ path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// Buffered stdout: written in blocks of about 64 KiB.
struct Output {
    private var buffer = ""

    mutating func write(_ text: String) {
        buffer += text
        if buffer.utf8.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }
}
