import BihashCore
import Foundation

/// Exact k-NN and radius search in Hamming space by multi-index hashing (Norouzi, Punjani & Fleet,
/// "Fast Search in Hamming Space with Multi-Index Hashing", CVPR 2012; TPAMI 2014).
///
/// Each K-bit code is cut into m disjoint substrings, and each substring indexes one table (direct addressing,
/// 2^s buckets of row positions). By the pigeonhole principle (TPAMI 2014, Sec. 3.1, Proposition 1, in the
/// general form with one radius per table): if every table i has been probed to substring radius rᵢ, an item
/// missed by all of them differs from the query by at least rᵢ + 1 bits in every substring, so every item within
/// distance Σ(rᵢ + 1) − 1 of the query has been seen. k-NN grows the probing radius one (table, radius) level
/// at a time and stops once the k-th best distance is at most that guaranteed radius (Sec. 4, "k-NN search"
/// with its stopping rule); the levels are taken cheapest first by the expected size of each table's next level,
/// which for tables of equal width is the paper's round-robin. Radius search picks radii with Σ(rᵢ + 1) = r + 1
/// the same way. Results are exactly those of `FlatIndex` (same (distance, id) order).
///
/// Parity pruning (not in the paper): an entry also holds the parities of a few other substrings of its item
/// (the bits its row position leaves free). An item met for the first time at level (t, ρ) differs from the
/// query by ρ bits in substring t and by at least rᵤ + 1 bits in every other substring u, and by rᵤ + 2 when
/// the parity of its difference in u is not that of rᵤ + 1 (known from the stored parity and the query's).
/// When that lower bound exceeds the current k-th distance (or the radius), the item is either already seen or
/// cannot qualify, so its code is never read: about 40% of the candidates on clustered 64-bit codes.
///
/// Candidates are gathered a chunk at a time and their distances computed in one branch-free loop, so the random
/// reads of the codes overlap (memory-level parallelism); ids are read only for the final answers. When the
/// probing would cost more than a scan (random codes, large radius), a query falls back to the flat scan, so the
/// answer is always exact. Items seen twice are recognised without a per-query bitmap: an item found at level
/// (t, ρ) was already found if its substring distance in some table u is within the radius u was probed to.
///
/// ```swift
/// let mih = try MultiIndexHashing(index)           // m chosen from K and N as in the paper
/// let hits = try mih.search(queries, k: 100)       // == index.search(queries, k: 100)
/// let near = try mih.search(queries, radius: 8)    // every item within 8 bits
/// ```
///
/// A `MultiIndexHashing` is a snapshot of the index it was built from (sharing its codes without a copy);
/// rebuild it after adding or removing items. Memory: m tables of 3 bytes per item (4 past 2^24 stored rows)
/// plus 4·(2^s + 1) bytes of bucket offsets each.
public struct MultiIndexHashing: Sendable {
    /// The indexed items (a snapshot sharing storage with the index passed to `init`).
    public let index: FlatIndex
    /// m, the number of substrings (tables).
    public let substringCount: Int
    /// Bits of each substring (⌈K/m⌉ for the first K mod m substrings, ⌊K/m⌋ for the rest).
    public let substringBits: [Int]

    /// Largest substring width (a table has 2^s buckets).
    public static let maxSubstringBits = 20
    /// Most parities stored per entry (the test of an entry is a lookup in a 2^4-bit set).
    static let maxSketchBits = 4

    let substrings: [Substring]
    /// The tables, in one block of memory (see `TableMemory`):
    /// - bucket boundaries of every table (`offsetCount` UInt32s): table t's bucket b holds entries
    ///   `offsets[base+b] ..< offsets[base+b+1]` of that table;
    /// - then the entries, table after table (L = live items per table), each table sorted by key then row; an
    ///   entry is `row | sketch << rowBits` in `entryBytes` little-endian bytes (sketch bit i: the parity of the
    ///   item's substring (t + 1 + i) mod m), followed by 32 bytes of padding so that the entries can be read
    ///   eight at a time with one unaligned 32-byte load (see `bihash_filter_entries`).
    let memory: TableMemory
    /// Bucket offsets of all tables (Σ 2^sᵢ + 1).
    let offsetCount: Int
    /// Bytes of entries (m · L · entryBytes + 32 of padding).
    let entryByteCount: Int
    /// Bytes per entry: 3 while the rows fit in 24 bits (the common case: 25% less memory), else 4.
    let entryBytes: Int
    /// Bits of the row position in an entry.
    let rowBits: Int
    /// Parities stored per entry: min(m − 1, bits left free by the row position, `maxSketchBits`).
    let sketchBits: Int
    /// L: live items indexed.
    let liveCount: Int
    /// The XOR masks of the low probing levels of every table, listed once (see `BucketMasks`).
    let bucketMasks: BucketMasks
    /// Expected work of every level (see `LevelCosts`).
    let levelCosts: LevelCosts

    /// Bytes held by the tables (bucket offsets and entries), beyond the codes and ids.
    public var tableBytes: Int { 4 * offsetCount + entryByteCount }

    /// m as chosen by Norouzi et al.: substrings of about log₂ N bits, so that a bucket holds about one item,
    /// capped at 16 bits (direct-addressed tables of 2^16 buckets) and at one bit per substring.
    public static func defaultSubstringCount(bits: Int, count: Int) -> Int {
        let logN = Int(log2(Double(Swift.max(count, 2))).rounded())
        let s = Swift.min(16, Swift.max(1, logN))
        return Swift.min(bits, Swift.max(1, (bits + s - 1) / s))
    }

    /// Builds the m substring tables over the live items of `index`.
    /// - Parameters:
    ///   - index: the items to search (copied by value: later changes to `index` are not seen).
    ///   - substrings: m, or nil for `defaultSubstringCount(bits:count:)`; each substring must have at most
    ///     `maxSubstringBits` bits.
    ///   - threads: threads used to build the tables.
    /// - Throws: `BihashError.invalidArgument` for an m out of range, `BihashError.limitExceeded` past 2^32 stored
    ///   rows or when the tables cannot be allocated.
    public init(_ index: FlatIndex, substrings: Int? = nil, threads: Int = Parallel.coreCount) throws {
        try self.init(index, substrings: substrings, threads: threads, entryBytes: nil)
    }

    /// As the public `init`, with the entry size forced (tests: 4-byte entries, otherwise used past 2^24 rows).
    init(_ index: FlatIndex, substrings: Int?, threads: Int, entryBytes forcedEntryBytes: Int?) throws {
        let k = index.bits
        let m = substrings ?? MultiIndexHashing.defaultSubstringCount(bits: k, count: index.count)
        try require(m >= 1 && m <= k, "the number of substrings must be in 1...\(k) for \(k)-bit codes, got \(m)")
        try require((k + m - 1) / m <= MultiIndexHashing.maxSubstringBits,
                    "\(m) substrings of \(k)-bit codes have \((k + m - 1) / m) bits; at most \(MultiIndexHashing.maxSubstringBits) are supported (use m ≥ \((k + MultiIndexHashing.maxSubstringBits - 1) / MultiIndexHashing.maxSubstringBits))")
        try require(threads >= 1, "threads must be ≥ 1, got \(threads)")
        var widths: [Int] = []
        var subs: [Substring] = []
        var start = 0, offsetBase = 0
        for t in 0..<m {
            let s = k / m + (t < k % m ? 1 : 0)
            widths.append(s)
            subs.append(Substring(start: start, bits: s, offsetBase: offsetBase, bytesPerCode: index.rows.bytesPerCode))
            start += s
            offsetBase += (1 << s) + 1
        }
        self.index = index
        substringCount = m
        substringBits = widths
        self.substrings = subs
        let rows = index.rows
        let live = rows.liveCount
        liveCount = live
        // Row positions go up to rows.count − 1 (removed rows keep their positions), held in 32-bit entries.
        guard rows.count <= 1 << 32 else {
            throw BihashError.limitExceeded("multi-index hashing holds at most 2^32 rows, the index has \(rows.count)")
        }
        let rb = rows.count <= 2 ? 1 : Int.bitWidth - (rows.count - 1).leadingZeroBitCount
        let eb = Swift.max(forcedEntryBytes ?? 3, rb <= 24 ? 3 : 4)
        let sk = Swift.max(0, Swift.min(m - 1, 8 * eb - rb, MultiIndexHashing.maxSketchBits))
        rowBits = rb
        entryBytes = eb
        sketchBits = sk
        offsetCount = offsetBase
        entryByteCount = m * live * eb + 32
        bucketMasks = BucketMasks(widths: widths)
        levelCosts = LevelCosts(widths: widths, live: live)
        let mem = try TableMemory(byteCount: 4 * offsetBase + entryByteCount)
        memory = mem
        // Counting sort of the live rows by key, one table per task (tables are independent: deterministic).
        rows.withRows { codes, _, tombstones in
            let o = mem.offsets, e = (mem.base + 4 * offsetBase).assumingMemoryBound(to: UInt8.self)
            Parallel.forEachChunk(count: m, threads: threads) { _, tables in
                for t in tables {
                    let sub = subs[t]
                    let base = o + sub.offsetBase
                    for i in 0..<rows.count where !RowStore.isDeleted(tombstones, i) {
                        base[sub.key(codes + i * rows.bytesPerCode) + 1] += 1
                    }
                    for b in 0..<(1 << sub.bits) { base[b + 1] += base[b] }
                    var cursor = Array(UnsafeBufferPointer(start: base, count: 1 << sub.bits))
                    let table = e + t * live * eb
                    for i in 0..<rows.count where !RowStore.isDeleted(tombstones, i) {
                        let code = codes + i * rows.bytesPerCode
                        var value = UInt64(i)
                        for j in 0..<sk {
                            let parity = UInt64(subs[(t + 1 + j) % m].key(code).nonzeroBitCount & 1)
                            value |= parity << UInt64(rb + j)
                        }
                        let key = sub.key(code)
                        // Byte by byte: a wider store would overwrite the neighbouring entry.
                        let at = table + Int(cursor[key]) * eb
                        for b in 0..<eb { at[b] = UInt8(truncatingIfNeeded: value >> UInt64(8 * b)) }
                        cursor[key] += 1
                    }
                }
            }
        }
    }

    /// The k nearest live items to each query, exactly (identical to `FlatIndex.search(_:k:threads:)`).
    /// - Parameters:
    ///   - queries: codes of the index's width.
    ///   - k: results per query (≥ 1).
    ///   - threads: threads to use (≥ 1); queries are split across them.
    /// - Returns: one list per query in (distance, id) order.
    /// - Throws: `BihashError.invalidArgument` on a width mismatch, k < 1 or threads < 1.
    public func search(_ queries: PackedCodes, k: Int, threads: Int = Parallel.coreCount) throws -> [[Neighbor]] {
        try index.validate(queries, threads: threads)
        try require(k >= 1, "k must be ≥ 1, got \(k)")
        return run(queries, mode: .nearest(Swift.min(k, Swift.max(1, liveCount))), threads: threads)
    }

    /// Every live item within Hamming distance `radius` of each query, exactly (identical to
    /// `FlatIndex.search(_:radius:threads:)`).
    /// - Parameters:
    ///   - queries: codes of the index's width.
    ///   - radius: 0…K.
    ///   - threads: threads to use (≥ 1).
    /// - Returns: one list per query in (distance, id) order.
    /// - Throws: `BihashError.invalidArgument` on a width mismatch, a negative radius or threads < 1.
    public func search(_ queries: PackedCodes, radius: Int, threads: Int = Parallel.coreCount) throws -> [[Neighbor]] {
        try index.validate(queries, threads: threads)
        try require(radius >= 0, "radius must be ≥ 0, got \(radius)")
        return run(queries, mode: .within(Swift.min(radius, index.bits)), threads: threads)
    }

    private func run(_ queries: PackedCodes, mode: FlatSearch.Mode, threads: Int) -> [[Neighbor]] {
        let nq = queries.count
        if nq == 0 { return [] }
        // Nothing indexed: every answer is empty (and the tables hold no entries to probe).
        if liveCount == 0 { return [[Neighbor]](repeating: [], count: nq) }
        let output = UnsafeMutableBufferPointer<[Neighbor]>.allocate(capacity: nq)
        output.initialize(repeating: [])
        defer { _ = output.deinitialize(); output.deallocate() }  // release each query's result array, then the buffer
        let chunks = Swift.max(1, Swift.min(threads, nq))
        var fallbacks = [[Int]](repeating: [], count: chunks)
        let rows = index.rows
        let bpc = rows.bytesPerCode
        fallbacks.withUnsafeMutableBufferPointer { fb in
            rows.withRows { codes, ids, _ in
                queries.bytes.withUnsafeBytes { qb in
                    substrings.withUnsafeBufferPointer { sb in
                        let tables = Tables(codes: codes, ids: ids, stride: bpc, offsets: memory.offsets,
                                            entries: UnsafeRawPointer(memory.base + 4 * offsetCount),
                                            entryBytes: entryBytes, rowBits: rowBits, sketchBits: sketchBits,
                                            live: liveCount, subs: sb.baseAddress!, m: substringCount,
                                            masks: bucketMasks, costs: levelCosts, budget: budget)
                        Parallel.forEachChunk(count: nq, threads: chunks) { chunk, range in
                            let q = qb.baseAddress!
                            let out = output.baseAddress!
                            switch bpc {
                            case 8: fb[chunk] = searchChunk(Kernel64(), tables, q, range, mode, out)
                            case 16: fb[chunk] = searchChunk(Kernel128(), tables, q, range, mode, out)
                            case 32: fb[chunk] = searchChunk(Kernel256(), tables, q, range, mode, out)
                            default: fb[chunk] = searchChunk(GeneralKernel(bytesPerCode: bpc), tables, q, range, mode, out)
                            }
                        }
                    }
                }
            }
        }
        // Queries whose probing would cost more than a scan: answered by the flat scan, all threads.
        let slow = fallbacks.flatMap { $0 }
        if !slow.isEmpty {
            let answers: [[Neighbor]]
            switch mode {
            case .nearest(let k): answers = FlatSearch.nearest(rows: rows, queries: queries, queryIndices: slow, k: k, threads: threads)
            case .within(let r): answers = FlatSearch.within(rows: rows, queries: queries, queryIndices: slow, radius: r, threads: threads)
            }
            for (qi, answer) in zip(slow, answers) { output[qi] = answer }
        }
        return Array(output)
    }

    /// Probing work (buckets visited + entries read) above which a query is cheaper as a flat scan. An entry
    /// costs a few nanoseconds (a candidate is a random memory access), a scanned code a fraction of one. Tests
    /// set `probeBudget` to force one path or the other.
    var probeBudget: Int? = nil
    private var budget: Int { probeBudget ?? Swift.max(2048, liveCount / 16) }

    /// Answers the queries in `range`; returns those left to the flat scan.
    private func searchChunk<Kern: HammingKernel>(_ kern: Kern, _ tb: Tables, _ queryBytes: UnsafeRawPointer,
                                                  _ range: Range<Int>, _ mode: FlatSearch.Mode,
                                                  _ output: UnsafeMutablePointer<[Neighbor]>) -> [Int] {
        let m = substringCount
        let bpc = tb.stride
        let scratch = Scratch(words: kern.wordCount, tables: m)
        // One k-NN sink per thread, reused by every query (its buffers keep their capacity).
        var nearestSink = NearestSink(tb: tb, s: scratch, selection: NearestSelection(
            k: { if case .nearest(let k) = mode { return k } else { return 1 } }(), bits: index.bits))
        var withinSink = WithinSink(tb: tb, s: scratch, list: WithinList(
            radius: { if case .within(let r) = mode { return r } else { return 0 } }()))
        defer { scratch.deallocate(); nearestSink.selection.deallocate(); withinSink.list.deallocate() }
        var slow: [Int] = []
        for qi in range {
            let qcode = queryBytes + qi * bpc
            loadQueryWords(qcode, bytesPerCode: bpc, into: scratch.qwords)
            for t in 0..<m {
                scratch.qkeys[t] = tb.subs[t].key(qcode)
                scratch.qparity[t] = UInt32(scratch.qkeys[t].nonzeroBitCount & 1)
            }
            let done: Bool
            switch mode {
            case .nearest:
                nearestSink.selection.reset()
                done = MultiIndexHashing.nearest(kern, tb, scratch, &nearestSink)
                if done { output[qi] = nearestSink.selection.result(ids: tb.ids) }
            case .within(let r):
                withinSink.list.reset()
                done = MultiIndexHashing.within(kern, tb, scratch, r, &withinSink)
                if done { output[qi] = withinSink.list.result(ids: tb.ids) }
            }
            if !done { slow.append(qi) }
        }
        return slow
    }

    /// The table whose next level is expected to cost least (see `LevelCosts`); −1 when every table is probed
    /// to its full width.
    @inline(__always)
    static func cheapestTable(_ tb: Tables, _ s: Scratch) -> Int {
        var best = -1, bestCost = Double.infinity
        for t in 0..<tb.m where s.radii[t] < tb.subs[t].bits {
            let cost = tb.costs.work[t &* tb.costs.stride &+ s.radii[t] &+ 1]
            if cost < bestCost { best = t; bestCost = cost }
        }
        return best
    }

    /// The sketch bits an entry of table t must have for its item to reach the lower bound without an extra
    /// bit: bit i (table u = (t + 1 + i) mod m) is the query's parity of substring u XOR the parity of the
    /// least difference `floor(u)` the item can have there. An entry's mismatches with this target each add one
    /// bit to its lower bound (see the type's documentation).
    @inline(__always)
    static func sketchTarget(_ tb: Tables, _ s: Scratch, _ t: Int, floor: (Int) -> Int) -> UInt32 {
        var target: UInt32 = 0
        var u = t
        for i in 0..<tb.sketchBits {
            u = u &+ 1 == tb.m ? 0 : u &+ 1
            target |= (s.qparity[u] ^ UInt32(truncatingIfNeeded: floor(u) & 1)) << UInt32(i)
        }
        return target
    }

    /// k-NN for one query by growing the probing radius; false when the budget ran out (selection then invalid).
    static func nearest<Kern: HammingKernel>(_ kern: Kern, _ tb: Tables, _ s: Scratch,
                                             _ sink: inout NearestSink) -> Bool {
        for t in 0..<tb.m { s.radii[t] = -1 }
        var bound = 0      // Σ(rᵢ + 1): every item at distance < bound has been seen (Prop. 1)
        var work = 0
        while true {
            // Stopping rule (Sec. 4): the k-th best distance is within the guaranteed radius bound − 1, so no
            // unseen item can enter the k best (nor tie with the k-th: ties at distance ≤ bound − 1 are all seen).
            if sink.selection.isFull && sink.selection.threshold < bound { return true }
            let t = cheapestTable(tb, s)
            if t < 0 { return true }           // every table probed to its full width: every item seen
            let rho = s.radii[t] + 1
            // Give up before a level that is expected to exceed the budget.
            if Double(work) + tb.costs.work[t &* tb.costs.stride &+ rho] > Double(tb.budget) { return false }
            // An item new at this level differs by rho in t and by ≥ rᵤ + 1 in every other table u: in total by
            // ≥ bound (radii[t] is still rho − 1, so the level's items, at exactly rho in t, are new to t).
            let target = sketchTarget(tb, s, t) { u in s.radii[u] &+ 1 }
            if !probeLevel(kern, tb, s, t, rho, base: bound, target: target, &sink, &work) { return false }
            s.radii[t] = rho
            bound += 1
            if rho == tb.subs[t].bits { return true }  // table t fully probed: every item has been seen
        }
    }

    /// Radius search for one query; false when the probing would exceed the budget (found list then invalid).
    static func within<Kern: HammingKernel>(_ kern: Kern, _ tb: Tables, _ s: Scratch, _ r: Int,
                                            _ sink: inout WithinSink) -> Bool {
        // Probing radii with Σ(rᵢ + 1) = r + 1 (Prop. 1: every item within r is within rᵢ in some table i),
        // one level at a time in the same order as k-NN. Σ(sᵢ + 1) = K + m > r, so this always ends. First the
        // expected work of those levels, to fall back at once when it exceeds the budget.
        for t in 0..<tb.m { s.radii[t] = -1 }
        var expected = 0.0
        for _ in 0...r {
            let t = cheapestTable(tb, s)
            if t < 0 { break }
            s.radii[t] += 1
            expected += tb.costs.work[t &* tb.costs.stride &+ s.radii[t]]
        }
        if expected > Double(tb.budget) { return false }
        for t in 0..<tb.m { s.radii[t] = -1 }
        var work = 0
        for bound in 0...r {   // bound = Σ(rᵢ + 1) before the level
            let t = cheapestTable(tb, s)
            if t < 0 { break }
            let rho = s.radii[t] + 1
            // As in k-NN, an item new at this level differs from the query by at least `bound` bits.
            let target = sketchTarget(tb, s, t) { u in s.radii[u] &+ 1 }
            if !probeLevel(kern, tb, s, t, rho, base: bound, target: target, &sink, &work) { return false }
            s.radii[t] = rho
        }
        return true
    }
}
