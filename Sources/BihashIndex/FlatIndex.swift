import BihashCore

/// An exact Hamming-space index: every search scans all codes.
///
/// Holds N·⌈K/8⌉ bytes of codes plus N 64-bit ids (and one tombstone bit per row after a removal); a search
/// needs nothing beyond O(k) per query. The rows are kept in code order (sorted by code, then id), whatever the
/// order they were added in: `MultiIndexHashing` reads the items that share the first substring of their codes as
/// one contiguous range (so it needs one table fewer), and saved files are identical for the same items. Codes are compared with XOR + hardware popcount, 8 queries per pass
/// over the database, queries split across threads.
///
/// ```swift
/// var index = try FlatIndex(bits: 64)
/// try index.add(codes, ids: ids)                       // caller-chosen UInt64 ids, unique among live items
/// let hits = try index.search(queries, k: 10)          // [[Neighbor]], (distance, id) order
/// try index.save(to: "items.bhidx")                    // atomic, checksummed
/// let same = try FlatIndex.open("items.bhidx")          // mmap, read-only, no copy of the codes
/// ```
///
/// `FlatIndex` is a value: copies share storage until one of them changes. Searching one index from several
/// threads is safe; `add`, `remove` and `compact` need exclusive access.
///
/// ### See Also
/// `MultiIndexHashing` (the same results, faster on clustered codes), `IndexFile` (the file format).
public struct FlatIndex: Sendable {
    var rows: RowStore

    /// K, the number of bits per code.
    public var bits: Int { rows.bits }
    /// Live items (added and not removed).
    public var count: Int { rows.liveCount }
    /// Rows stored, including removed rows not yet compacted away.
    public var storedCount: Int { rows.count }
    /// Removed rows still occupying storage (until `compact()` or `save`).
    public var removedCount: Int { rows.deletedCount }
    /// Whether the codes are read in place from a memory-mapped index file.
    public var isMapped: Bool { rows.isMapped }

    /// An empty index for `bits`-bit codes (1…4096).
    /// - Throws: `BihashError.invalidArgument` for an unsupported width.
    public init(bits: Int) throws {
        try PackedCodes.validateBits(bits)
        rows = RowStore(bits: bits)
    }

    /// An index holding `codes`, with ids `ids` (default: 0, 1, 2, … in row order).
    /// - Throws: as `add(_:ids:)`.
    public init(codes: PackedCodes, ids: [UInt64]? = nil) throws {
        try self.init(bits: codes.bits)
        try add(codes, ids: ids ?? (0..<codes.count).map { UInt64($0) })
    }

    init(rows: RowStore) {
        self.rows = rows
    }

    /// Adds `codes` with their caller-chosen ids.
    ///
    /// Cost O(N + n log n): the new ids are checked against the live ones by one scan and the batch is merged into
    /// code order (removed rows are dropped on the way, as by `compact()`), so add in batches.
    /// - Parameters:
    ///   - codes: n codes of this index's width.
    ///   - ids: n ids, distinct from each other and from every live id (an id freed by `remove` may be reused).
    /// - Throws: `BihashError.invalidArgument` on a width or count mismatch or a duplicate id;
    ///   `.limitExceeded` past 2³¹ − 1 stored rows.
    public mutating func add(_ codes: PackedCodes, ids: [UInt64]) throws {
        try require(codes.bits == bits, "cannot add \(codes.bits)-bit codes to a \(bits)-bit index")
        try require(ids.count == codes.count, "got \(codes.count) codes but \(ids.count) ids")
        if ids.isEmpty { return }
        let (total, overflow) = rows.count.addingReportingOverflow(ids.count)
        if overflow || total > FlatIndex.maxRows {
            throw BihashError.limitExceeded("an index holds at most \(FlatIndex.maxRows) rows; adding \(ids.count) to \(rows.count)")
        }
        let newIDs = Set(ids)
        if newIDs.count != ids.count {
            var seen = Set<UInt64>()
            let dup = ids.first { !seen.insert($0).inserted }!
            throw BihashError.invalidArgument("id \(dup) appears more than once in the batch to add")
        }
        if let dup = rows.firstLiveID(in: newIDs) {
            throw BihashError.invalidArgument("id \(dup) is already in the index (remove it first)")
        }
        rows.append(codes: codes, ids: ids)
    }

    /// Largest number of stored rows (row positions are 32-bit in the search kernels and MIH tables).
    public static let maxRows = Int(Int32.max)

    /// Removes the live items whose id is in `ids` (unknown ids are ignored) by marking them with tombstones;
    /// storage is reclaimed by `compact()`, automatically once half the rows are removed, and by `save`.
    /// - Returns: how many items were removed.
    @discardableResult
    public mutating func remove(ids: [UInt64]) -> Int {
        if ids.isEmpty || count == 0 { return 0 }
        let removed = rows.markDeleted(ids: Set(ids))
        if rows.deletedCount * 2 > rows.count { rows.compact() }
        return removed
    }

    /// Drops removed rows from storage (copies a mapped index into memory), and puts the rows of an index file
    /// written before rows were kept in code order into that order.
    public mutating func compact() {
        rows.compact()
    }

    /// The live items' codes and ids, in code order (sorted by code, then id; not the order they were added in).
    /// - Throws: never for a valid index (the codes are re-validated as `PackedCodes`).
    public func items() throws -> (codes: PackedCodes, ids: [UInt64]) {
        var copy = rows
        copy.compact()
        let bpc = rows.bytesPerCode
        var bytes = [UInt8]()
        var ids = [UInt64]()
        bytes.reserveCapacity(copy.count * bpc)
        ids.reserveCapacity(copy.count)
        copy.withRows { c, i, _ in
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: c, count: copy.count * bpc))
            ids.append(contentsOf: UnsafeBufferPointer(start: i, count: copy.count))
        }
        return (try PackedCodes(bits: bits, count: ids.count, bytes: bytes), ids)
    }

    /// The k nearest live items to each query, exactly.
    ///
    /// - Parameters:
    ///   - queries: codes of this index's width.
    ///   - k: results per query (≥ 1); fewer when the index holds fewer items.
    ///   - threads: threads to use (≥ 1); queries are split across them in groups of 8.
    /// - Returns: one list per query, ordered by (distance, id), identical at any thread count.
    /// - Throws: `BihashError.invalidArgument` on a width mismatch, k < 1 or threads < 1.
    public func search(_ queries: PackedCodes, k: Int, threads: Int = Parallel.coreCount) throws -> [[Neighbor]] {
        try validate(queries, threads: threads)
        try require(k >= 1, "k must be ≥ 1, got \(k)")
        return FlatSearch.nearest(rows: rows, queries: queries, queryIndices: Array(0..<queries.count),
                                  k: Swift.min(k, Swift.max(1, count)), threads: threads)
    }

    /// Every live item within Hamming distance `radius` of each query (not capped).
    ///
    /// - Parameters:
    ///   - queries: codes of this index's width.
    ///   - radius: 0…K.
    ///   - threads: threads to use (≥ 1).
    /// - Returns: one list per query, ordered by (distance, id).
    /// - Throws: `BihashError.invalidArgument` on a width mismatch, a negative radius or threads < 1.
    public func search(_ queries: PackedCodes, radius: Int, threads: Int = Parallel.coreCount) throws -> [[Neighbor]] {
        try validate(queries, threads: threads)
        try require(radius >= 0, "radius must be ≥ 0, got \(radius)")
        return FlatSearch.within(rows: rows, queries: queries, queryIndices: Array(0..<queries.count),
                                 radius: Swift.min(radius, bits), threads: threads)
    }

    func validate(_ queries: PackedCodes, threads: Int) throws {
        try require(queries.bits == bits, "queries have \(queries.bits) bits but the index has \(bits)")
        try require(threads >= 1, "threads must be ≥ 1, got \(threads)")
    }
}
