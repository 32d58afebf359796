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
/// Table 0 in place (not in the paper): `FlatIndex` keeps its rows in code order, so the items whose first
/// substring is b are the contiguous rows `offsets[b] ..< offsets[b+1]`; table 0 holds only those offsets, and its
/// candidates are read as sequential runs of codes instead of scattered ones.
///
/// Sketch pruning (not in the paper): the bits an entry's row position leaves free (12 in a 4-byte entry at
/// N = 2^20) hold a sketch of the item's other substrings: the parities of p pieces of the next substring and
/// the parities of the following ones (`SketchLayout`). An item met for the first time at level (t, ρ) differs
/// from the query by ρ bits in substring t and by at least rᵤ + 1 in every other substring u (the level's base).
/// If c of the next substring's pieces have a parity other than the query's, it differs there by at least c bits,
/// with the parity of c, so by at least max(c, rᵤ + 1) rounded up to that parity; a following substring whose
/// parity is known differs by rᵤ + 2 when that parity is not that of rᵤ + 1. When this lower bound exceeds the
/// current k-th distance (or the radius), the item is either already seen or cannot qualify, and its code is
/// never read: on the benchmark's clustered 64-bit codes, about 70% of the entries read are dropped this way
/// (counted once with a temporary instrumented build: 3,643 entries read and 1,018 codes read per query).
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
/// rebuild it after adding or removing items. Memory: 4·(2^s + 1) bytes of bucket offsets per table, plus entries
/// of 3 or 4 bytes per item in m − 1 tables (m when the rows are not in code order): 4 bytes while that stays
/// within twice the codes' size (64-bit codes, N = 1M: 13 bytes per item, 1.63× the codes) or past 2^24 rows.
public struct MultiIndexHashing: Sendable {
    /// The indexed items (a snapshot sharing storage with the index passed to `init`).
    public let index: FlatIndex
    /// m, the number of substrings (tables).
    public let substringCount: Int
    /// Bits of each substring (⌈K/m⌉ for the first K mod m substrings, ⌊K/m⌋ for the rest).
    public let substringBits: [Int]

    /// Largest substring width (a table has 2^s buckets).
    public static let maxSubstringBits = 20

    let substrings: [Substring]
    /// The tables, in one block of memory (see `TableMemory`):
    /// - bucket boundaries of every table (`offsetCount` UInt32s): table t's bucket b holds entries
    ///   `offsets[base+b] ..< offsets[base+b+1]` of that table (table 0 read in place: rows);
    /// - then the entries of the tables that have them, table after table (L = live items per table), each table
    ///   sorted by key then row; an entry is `row | sketch << rowBits` in `entryBytes` little-endian bytes (see
    ///   `SketchLayout`), followed by 32 bytes of padding so that the entries can be read eight at a time with
    ///   one unaligned 32-byte load (see `bihash_filter_entries`).
    let memory: TableMemory
    /// Bucket offsets of all tables (Σ 2^sᵢ + 1).
    let offsetCount: Int
    /// Bytes of entries ((m or m − 1) · L · entryBytes + 32 of padding).
    let entryByteCount: Int
    /// Whether table 0 is read in place (the index's rows are in code order): it then holds no entries.
    let readsFirstTableInPlace: Bool
    /// Bytes per entry: 4 (more sketch bits) when the tables then stay within twice the codes' size or the row
    /// positions need more than 24 bits, else 3.
    let entryBytes: Int
    /// Bits of the row position in an entry.
    let rowBits: Int
    /// Spare bits of an entry holding its sketch: 8 · entryBytes − rowBits.
    let sketchBits: Int
    /// What the sketch bits hold.
    let sketch: SketchLayout
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

    /// Bytes per entry for row positions of ≤ 24 bits: 4 (8 more sketch bits) while the tables (bucket offsets and
    /// entries) stay within twice the codes' size, else 3.
    static func defaultEntryBytes(offsetCount: Int, entryTables: Int, live: Int, bytesPerCode: Int) -> Int {
        4 * offsetCount + entryTables * live * 4 <= 2 * live * bytesPerCode ? 4 : 3
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
        try self.init(index, substrings: substrings, threads: threads, entryBytes: nil, inPlace: true)
    }

    /// As the public `init`, with the entry size forced (3 or 4; 4 is also used past 2^24 rows) and table 0 read
    /// in place only if `inPlace` (and the rows are in code order): tests of every layout.
    init(_ index: FlatIndex, substrings: Int?, threads: Int, entryBytes forcedEntryBytes: Int?, inPlace: Bool) throws {
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
        // Table 0 in place: its bucket b is the rows offsets[b] ..< offsets[b+1] (all stored rows, in code order).
        let direct = inPlace && rows.isSorted
        let entryTables = direct ? m - 1 : m
        let eb = rb > 24 ? 4 : forcedEntryBytes ?? MultiIndexHashing.defaultEntryBytes(
            offsetCount: offsetBase, entryTables: entryTables, live: live, bytesPerCode: rows.bytesPerCode)
        let sk = 8 * eb - rb
        let layout = SketchLayout(sketchBits: sk, widths: widths)
        rowBits = rb
        entryBytes = eb
        sketchBits = sk
        sketch = layout
        readsFirstTableInPlace = direct
        offsetCount = offsetBase
        entryByteCount = entryTables * live * eb + 32
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
                    if direct && t == 0 {
                        // Bucket boundaries over all stored rows (removed ones are skipped while probing).
                        for i in 0..<rows.count { base[sub.key(codes + i * rows.bytesPerCode) + 1] += 1 }
                        for b in 0..<(1 << sub.bits) { base[b + 1] += base[b] }
                        continue
                    }
                    for i in 0..<rows.count where !RowStore.isDeleted(tombstones, i) {
                        base[sub.key(codes + i * rows.bytesPerCode) + 1] += 1
                    }
                    for b in 0..<(1 << sub.bits) { base[b + 1] += base[b] }
                    var cursor = Array(UnsafeBufferPointer(start: base, count: 1 << sub.bits))
                    let table = e + (direct ? t - 1 : t) * live * eb
                    let next = (t + 1) % m
                    for i in 0..<rows.count where !RowStore.isDeleted(tombstones, i) {
                        let code = codes + i * rows.bytesPerCode
                        // Sketch: the parities of the pieces of the next substring, then those of the following
                        // substrings (see `SketchLayout`).
                        var sketchValue = UInt64(layout.pieces(of: subs[next].key(code), substring: next))
                        for j in 0..<layout.parityCount {
                            let parity = UInt64(subs[(t + 2 + j) % m].key(code).nonzeroBitCount & 1)
                            sketchValue |= parity << UInt64(layout.pieceCount + j)
                        }
                        let value = UInt64(i) | sketchValue << UInt64(rb)
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
            rows.withRows { codes, ids, tombstones in
                queries.bytes.withUnsafeBytes { qb in
                    substrings.withUnsafeBufferPointer { sb in
                        let tables = Tables(codes: codes, ids: ids, stride: bpc, offsets: memory.offsets,
                                            entries: UnsafeRawPointer(memory.base + 4 * offsetCount),
                                            entryBytes: entryBytes, rowBits: rowBits, direct: readsFirstTableInPlace,
                                            tombstones: tombstones, sketch: sketch,
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
            for t in 0..<m where m > 1 {
                let next = t + 1 == m ? 0 : t + 1
                scratch.qpieces[t] = tb.sketch.pieces(of: scratch.qkeys[next], substring: next)
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

    /// The test of table t's sketches at the current radii (see `SketchTest`): an item new at the next level of t
    /// differs by at least rᵤ + 1 bits in every other substring u (its floor); its sketch then proves more when
    /// its pieces of the next substring mismatch the query's in more than that floor's worth (or with the other
    /// parity), and one more bit for each following substring whose parity differs from the query's by the
    /// other parity than the floor's.
    @inline(__always)
    static func sketchTest(_ tb: Tables, _ s: Scratch, _ t: Int) -> SketchTest {
        let layout = tb.sketch
        if layout.pieceCount == 0 { return SketchTest(target: 0, pieceMask: 0, floor: 0) }
        let next = t &+ 1 == tb.m ? 0 : t &+ 1
        var target = s.qpieces[t]
        var u = next
        for i in 0..<layout.parityCount {
            u = u &+ 1 == tb.m ? 0 : u &+ 1
            let floor = s.radii[u] &+ 1
            target |= (s.qparity[u] ^ UInt32(truncatingIfNeeded: floor & 1)) << UInt32(layout.pieceCount &+ i)
        }
        return SketchTest(target: target, pieceMask: (1 << UInt32(layout.pieceCount)) &- 1,
                          floor: UInt32(truncatingIfNeeded: s.radii[next] &+ 1))
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
            if !probeLevel(kern, tb, s, t, rho, base: bound, test: sketchTest(tb, s, t), &sink, &work) { return false }
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
            if !probeLevel(kern, tb, s, t, rho, base: bound, test: sketchTest(tb, s, t), &sink, &work) { return false }
            s.radii[t] = rho
        }
        return true
    }
}
