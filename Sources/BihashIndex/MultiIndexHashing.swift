import BihashCore
import CPrefetch
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
/// with its stopping rule); the paper grows the tables round-robin, here each step probes the table whose next
/// level holds the fewest entries, which keeps the guarantee (it only depends on the radii reached) and checks
/// fewer candidates. Radius search picks radii with Σ(rᵢ + 1) = r + 1 the same way. Results are exactly those of
/// `FlatIndex` (same (distance, id) order).
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

    /// Key extraction for one substring: bits [start, start + bits) of a code, first bit most significant.
    struct Substring {
        let bits: Int
        let firstByte: Int
        let byteCount: Int
        let shift: UInt64
        let mask: UInt64
        /// Where this table's bucket offsets start in `offsets` (2^bits + 1 of them).
        let offsetBase: Int

        init(start: Int, bits: Int, offsetBase: Int) {
            self.bits = bits
            firstByte = start >> 3
            let lastByte = (start + bits - 1) >> 3
            byteCount = lastByte - firstByte + 1
            shift = UInt64(byteCount * 8 - (start & 7) - bits)
            mask = (1 << UInt64(bits)) - 1
            self.offsetBase = offsetBase
        }

        @inline(__always)
        func key(_ code: UnsafeRawPointer) -> Int {
            var acc: UInt64 = 0
            for b in 0..<byteCount { acc = acc << 8 | UInt64(code.load(fromByteOffset: firstByte + b, as: UInt8.self)) }
            return Int(truncatingIfNeeded: (acc >> shift) & mask)
        }
    }

    let substrings: [Substring]
    /// The tables, in one block of memory (see `TableMemory`):
    /// - bucket boundaries of every table (`offsetCount` UInt32s): table t's bucket b holds entries
    ///   `offsets[base+b] ..< offsets[base+b+1]` of that table;
    /// - then the row positions, table after table (L = live items per table), each table sorted by key then row;
    ///   every position is `entryBytes` little-endian bytes, followed by 4 bytes of padding so that an entry can
    ///   be read with one unaligned 4-byte load and a mask.
    let memory: TableMemory
    /// Bucket offsets of all tables (Σ 2^sᵢ + 1).
    let offsetCount: Int
    /// Bytes of row positions (m · L · entryBytes + 4 of padding).
    let entryByteCount: Int
    /// Bytes per row position: 3 while the rows fit in 24 bits (the common case: 25% less memory), else 4.
    let entryBytes: Int
    /// L: live items indexed.
    let liveCount: Int
    /// The XOR masks of the low probing levels of every table, listed once (see `BucketMasks`).
    let bucketMasks: BucketMasks

    /// Bytes held by the tables (bucket offsets and row positions), beyond the codes and ids.
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
    /// - Throws: `BihashError.invalidArgument` for an m out of range.
    public init(_ index: FlatIndex, substrings: Int? = nil, threads: Int = Parallel.coreCount) throws {
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
            subs.append(Substring(start: start, bits: s, offsetBase: offsetBase))
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
        // Row positions go up to rows.count − 1 (removed rows keep their positions).
        let eb = rows.count <= 1 << 24 ? 3 : 4
        entryBytes = eb
        offsetCount = offsetBase
        entryByteCount = m * live * eb + 4
        bucketMasks = BucketMasks(widths: widths)
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
                        let key = sub.key(codes + i * rows.bytesPerCode)
                        // Byte by byte: a wider store would overwrite the neighbouring entry.
                        let at = table + Int(cursor[key]) * eb
                        for b in 0..<eb { at[b] = UInt8(truncatingIfNeeded: i >> (8 * b)) }
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
                                                    entries: UnsafeRawPointer(memory.base + 4 * offsetCount), entryBytes: entryBytes,
                                                    live: liveCount, subs: sb.baseAddress!, m: substringCount,
                                                    masks: bucketMasks)
                                Parallel.forEachChunk(count: nq, threads: chunks) { chunk, range in
                                    let q = qb.baseAddress!
                                    var slow: [Int] = []
                                    switch bpc {
                                    case 8: slow = searchChunk(Kernel64(), tables, q, range, mode, output.baseAddress!)
                                    case 16: slow = searchChunk(Kernel128(), tables, q, range, mode, output.baseAddress!)
                                    case 32: slow = searchChunk(Kernel256(), tables, q, range, mode, output.baseAddress!)
                                    default: slow = searchChunk(GeneralKernel(bytesPerCode: bpc), tables, q, range, mode, output.baseAddress!)
                                    }
                                    fb[chunk] = slow
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

    /// Read-only pointers into the snapshot, shared by the worker threads.
    struct Tables {
        let codes: UnsafeRawPointer
        let ids: UnsafePointer<UInt64>
        let stride: Int
        let offsets: UnsafePointer<UInt32>
        let entries: UnsafeRawPointer
        let entryBytes: Int
        let live: Int
        let subs: UnsafePointer<Substring>
        let m: Int
        let masks: BucketMasks

        /// Row position `j` of table `t` (one unaligned 4-byte load, masked to `entryBytes` bytes).
        @inline(__always)
        func entry(_ table: UnsafeRawPointer, _ j: Int) -> UInt32 {
            let raw = UInt32(littleEndian: table.loadUnaligned(fromByteOffset: j &* entryBytes, as: UInt32.self))
            return entryBytes == 4 ? raw : raw & 0xFF_FFFF
        }

        /// Where table `t`'s entries start.
        @inline(__always)
        func table(_ t: Int) -> UnsafeRawPointer { entries + t &* live &* entryBytes }
    }

    /// Probing work (buckets visited + candidates checked) above which a query is cheaper as a flat scan.
    /// A probed entry costs a random memory access, tens of times a scanned code. Tests set `probeBudget` to force
    /// one path or the other.
    var probeBudget: Int? = nil
    private var budget: Int { probeBudget ?? Swift.max(2048, liveCount / 16) }

    /// Candidates gathered before their distances are computed in one loop (small enough to stay in L1).
    static let chunkSize = 128
    /// Non-empty buckets of one level collected (and their entries prefetched) before their entries are gathered.
    static let spanCapacity = 256

    /// Per-thread working memory of one search (no allocation per query).
    struct Scratch {
        let qwords: UnsafeMutablePointer<UInt64>
        let qkeys: UnsafeMutablePointer<Int>
        /// Substring radius each table has been probed to (−1: not probed).
        let radii: UnsafeMutablePointer<Int>
        /// Entries in the buckets of table t at substring distance radii[t] + 1 (−1: not counted yet).
        let levelEntries: UnsafeMutablePointer<Int>
        /// Row positions of the current chunk of candidates, and their distances.
        let rows: UnsafeMutablePointer<UInt32>
        /// Non-empty buckets of the level being probed: first entry and entry count.
        let spanFirst: UnsafeMutablePointer<Int>
        let spanCount: UnsafeMutablePointer<Int>
        let distances: UnsafeMutablePointer<Int32>
        /// k-NN: accepted candidates per distance (0…K).
        let histogram: UnsafeMutablePointer<Int>
        let bits: Int

        init(words: Int, tables: Int, bits: Int) {
            qwords = .allocate(capacity: Swift.max(1, words))
            qkeys = .allocate(capacity: tables)
            radii = .allocate(capacity: tables)
            levelEntries = .allocate(capacity: tables)
            rows = .allocate(capacity: MultiIndexHashing.chunkSize)
            spanFirst = .allocate(capacity: MultiIndexHashing.spanCapacity)
            spanCount = .allocate(capacity: MultiIndexHashing.spanCapacity)
            distances = .allocate(capacity: MultiIndexHashing.chunkSize)
            histogram = .allocate(capacity: bits + 1)
            self.bits = bits
        }

        func deallocate() {
            qwords.deallocate(); qkeys.deallocate(); radii.deallocate(); levelEntries.deallocate()
            rows.deallocate(); distances.deallocate(); histogram.deallocate()
            spanFirst.deallocate(); spanCount.deallocate()
        }
    }

    /// Answers the queries in `range`; returns those left to the flat scan.
    private func searchChunk<Kern: HammingKernel>(_ kern: Kern, _ tb: Tables, _ queryBytes: UnsafeRawPointer,
                                                  _ range: Range<Int>, _ mode: FlatSearch.Mode,
                                                  _ output: UnsafeMutablePointer<[Neighbor]>) -> [Int] {
        let m = substringCount
        let bpc = tb.stride
        let scratch = Scratch(words: kern.wordCount, tables: m, bits: index.bits)
        defer { scratch.deallocate() }
        // One k-NN sink per thread, reused by every query (its accepted list keeps its capacity).
        var nearestSink = NearestSink(tb: tb, s: scratch, selection: NearestSelection(
            k: { if case .nearest(let k) = mode { return k } else { return 1 } }(), histogram: scratch.histogram,
            bits: index.bits))
        var slow: [Int] = []
        for qi in range {
            let qcode = queryBytes + qi * bpc
            loadQueryWords(qcode, bytesPerCode: bpc, into: scratch.qwords)
            for t in 0..<m { scratch.qkeys[t] = tb.subs[t].key(qcode) }
            let done: Bool
            switch mode {
            case .nearest:
                nearestSink.selection.reset()
                done = nearest(kern, tb, scratch, &nearestSink)
                if done { output[qi] = nearestSink.selection.result(ids: tb.ids) }
            case .within(let r):
                var sink = WithinSink(tb: tb, s: scratch, radius: r, table: 0, found: [])
                done = within(kern, tb, scratch, r, &sink)
                if done { output[qi] = sink.found.sorted() }
            }
            if !done { slow.append(qi) }
        }
        return slow
    }

    /// Calls `body` with every bucket of table `t` at substring distance exactly `rho` from `key`: from the
    /// listed masks for the low levels, else enumerating the rho-bit masks in increasing order with Gosper's hack
    /// (whose division per bucket costs more than the listed masks' sequential read).
    @inline(__always)
    private static func forEachBucket(_ tb: Tables, _ t: Int, key: Int, rho: Int, _ body: (Int) -> Void) {
        if rho <= tb.masks.maxLevel[t] {
            let row = tb.masks.starts + t &* tb.masks.startStride
            for i in row[rho]..<row[rho + 1] { body(key ^ Int(tb.masks.masks[i])) }
            return
        }
        let bits = tb.subs[t].bits
        var mask = (1 << rho) - 1
        let end = 1 << bits
        while mask < end {
            body(key ^ mask)
            if mask == 0 { break }
            let c = mask & -mask
            let r = mask + c
            mask = (((r ^ mask) >> 2) / c) | r
        }
    }

    /// Entries held by the buckets of table `t` at substring distance exactly `rho` from the query.
    @inline(__always)
    private func levelEntries(_ tb: Tables, _ s: Scratch, _ t: Int, _ rho: Int) -> Int {
        let sub = tb.subs[t]
        let offs = tb.offsets + sub.offsetBase
        var n = 0
        MultiIndexHashing.forEachBucket(tb, t, key: s.qkeys[t], rho: rho) { b in
            n &+= Int(offs[b + 1]) &- Int(offs[b])
        }
        return n
    }

    /// The table to probe one level further next: the one whose next level costs least (4 per entry, a random
    /// code read, and 1 per bucket visited); −1 when every table is probed to its full width. Counts each
    /// table's next level once (cached in `s.levelEntries`) and adds the buckets counted to `work`.
    @inline(__always)
    private func cheapestTable(_ tb: Tables, _ s: Scratch, _ work: inout Int) -> Int {
        var best = -1, bestCost = Int.max
        for t in 0..<tb.m where s.radii[t] < tb.subs[t].bits {
            let buckets = binomial(tb.subs[t].bits, s.radii[t] + 1)
            if s.levelEntries[t] < 0 {
                s.levelEntries[t] = levelEntries(tb, s, t, s.radii[t] + 1)
                work = work.addingReportingOverflow(buckets).partialValue
            }
            let cost = 4 &* s.levelEntries[t] &+ buckets
            if cost < bestCost { best = t; bestCost = cost }
        }
        return best
    }

    /// Probes the buckets of table `t` at substring distance exactly `rho`: collects the non-empty buckets
    /// (`spanCapacity` at a time) and prefetches their entries, gathers their row positions a chunk at a time
    /// while prefetching the candidates' codes, computes the chunk's distances in one branch-free loop, then
    /// hands the candidates within `sink.limit` to the sink. Every stage issues its random reads ahead of their
    /// use, so they overlap instead of each waiting for memory.
    @inline(__always)
    private func probeLevel<Kern: HammingKernel, Sink: CandidateSink>(_ kern: Kern, _ tb: Tables, _ s: Scratch,
                                                                      _ t: Int, _ rho: Int, _ sink: inout Sink) {
        let sub = tb.subs[t]
        let offs = tb.offsets + sub.offsetBase
        let table = tb.table(t)
        let q = UnsafePointer(s.qwords)
        let chunk = MultiIndexHashing.chunkSize
        var fill = 0
        func flush(_ count: Int) {
            for j in 0..<count {
                s.distances[j] = Int32(truncatingIfNeeded: kern.distance(q, tb.codes + Int(s.rows[j]) &* tb.stride))
            }
            var limit = sink.limit
            for j in 0..<count where Int(s.distances[j]) <= limit {
                let i = Int(s.rows[j])
                sink.take(row: i, distance: Int(s.distances[j]), code: tb.codes + i &* tb.stride)
                limit = sink.limit
            }
        }
        var spans = 0
        func gather() {
            for x in 0..<spans {
                var first = s.spanFirst[x]
                var n = s.spanCount[x]
                while n > 0 {
                    let take = Swift.min(n, chunk - fill)
                    for j in 0..<take {
                        // Prefetch the candidate's code now; its distance is computed when the chunk is full, by
                        // which time the read has (mostly) completed, overlapped with the gathering of the others.
                        let row = tb.entry(table, first &+ j)
                        s.rows[fill &+ j] = row
                        bihash_prefetch(tb.codes + Int(row) &* tb.stride)
                    }
                    fill += take; first += take; n -= take
                    if fill == chunk { flush(fill); fill = 0 }
                    }
            }
            spans = 0
        }
        MultiIndexHashing.forEachBucket(tb, t, key: s.qkeys[t], rho: rho) { b in
            let first = Int(offs[b])
            let n = Int(offs[b + 1]) &- first
            if n > 0 {
                bihash_prefetch(table + first &* tb.entryBytes)
                s.spanFirst[spans] = first
                s.spanCount[spans] = n
                spans += 1
                if spans == MultiIndexHashing.spanCapacity { gather() }
            }
        }
        gather()
        if fill > 0 { flush(fill) }
    }

    /// k-NN for one query by growing the probing radius; false when the budget ran out (selection then invalid).
    private func nearest<Kern: HammingKernel>(_ kern: Kern, _ tb: Tables, _ s: Scratch,
                                              _ sink: inout NearestSink) -> Bool {
        let m = tb.m
        for t in 0..<m { s.radii[t] = -1; s.levelEntries[t] = -1 }
        var bound = 0      // Σ(rᵢ + 1): every item at distance < bound has been seen (Prop. 1)
        var work = 0
        while true {
            // Stopping rule (Sec. 4): the k-th best distance is within the guaranteed radius bound − 1, so no
            // unseen item can enter the k best (nor tie with the k-th: ties at distance ≤ bound − 1 are all seen).
            if sink.selection.isFull && sink.selection.threshold < bound { return true }
            let t = cheapestTable(tb, s, &work)
            if t < 0 { return true }           // every table probed to its full width: every item seen
            let rho = s.radii[t] + 1
            work = work.addingReportingOverflow(s.levelEntries[t]).partialValue
            if work > budget { return false }
            // During the level, radii[t] is still rho − 1: the level's items (at exactly rho in t) are new to t.
            probeLevel(kern, tb, s, t, rho, &sink)
            s.radii[t] = rho
            s.levelEntries[t] = -1
            bound += 1
            if rho == tb.subs[t].bits { return true }  // table t fully probed: every item has been seen
        }
    }

    /// Radius search for one query; false when the probing would exceed the budget (nothing written).
    private func within<Kern: HammingKernel>(_ kern: Kern, _ tb: Tables, _ s: Scratch, _ r: Int,
                                             _ sink: inout WithinSink) -> Bool {
        let m = tb.m
        for t in 0..<m { s.radii[t] = -1; s.levelEntries[t] = -1 }
        // Probing radii with Σ(rᵢ + 1) = r + 1 (Prop. 1: every item within r is within rᵢ in some table i),
        // one level at a time, each time the cheapest next level. Σ(sᵢ + 1) = K + m > r, so this always ends.
        var work = 0
        for _ in 0...r {
            let t = cheapestTable(tb, s, &work)
            if t < 0 { break }
            work = work.addingReportingOverflow(s.levelEntries[t]).partialValue
            if work > budget { return false }
            s.radii[t] += 1
            s.levelEntries[t] = -1
        }
        for t in 0..<m where s.radii[t] >= 0 {
            sink.table = t
            for rho in 0...s.radii[t] { probeLevel(kern, tb, s, t, rho, &sink) }
        }
        return true
    }
}

/// Memory of the MIH tables, mapped anonymously and (on Linux) advised to use transparent huge pages: the probes
/// are random reads across megabytes of bucket offsets and row positions, and with 4 KiB pages nearly every one
/// would also miss the TLB. Zero-filled; written only while the tables are built, then read-only (shared by
/// copies of the `MultiIndexHashing` and by the search threads).
final class TableMemory: @unchecked Sendable {
    /// Start of the usable bytes (aligned to 2 MiB where huge pages are used).
    let base: UnsafeMutableRawPointer
    private let mapping: UnsafeMutableRawPointer
    private let mappedBytes: Int

    init(byteCount: Int) throws {
        let huge = 2 << 20
        // Over-allocate by one huge page so that the usable range can start on a 2 MiB boundary.
        mappedBytes = (byteCount + huge - 1) / huge * huge + huge
        guard let p = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              p != MAP_FAILED else {
            throw BihashError.limitExceeded("multi-index hashing: cannot map \(mappedBytes) bytes for the tables (errno \(errno))")
        }
        mapping = p
        let aligned = (Int(bitPattern: p) + huge - 1) / huge * huge
        base = p + (aligned - Int(bitPattern: p))
        #if os(Linux)
        _ = madvise(base, mappedBytes - (aligned - Int(bitPattern: p)), MADV_HUGEPAGE)  // advice only: may be ignored
        #endif
    }

    /// The bucket offsets (at the start of the block).
    var offsets: UnsafeMutablePointer<UInt32> { base.assumingMemoryBound(to: UInt32.self) }

    deinit { munmap(mapping, mappedBytes) }
}

/// The XOR masks of the first probing levels (substring distance ρ = 0, 1, 2, …) of every table, in the order
/// of Gosper's hack, as long as a width's levels so far hold at most `capacity` masks (1 + 16 + 120 + 560 + 1820
/// for 16-bit substrings: radius 4). Tables of the same width share one list. Immutable after `init`.
final class BucketMasks: @unchecked Sendable {
    static let capacity = 4096
    let masks: UnsafeMutablePointer<UInt32>
    /// Row t (`startStride` entries): level ρ of table t is `masks[row[ρ] ..< row[ρ + 1]]`, ρ ≤ `maxLevel[t]`.
    let starts: UnsafeMutablePointer<Int>
    let startStride: Int
    /// Highest listed level of each table (−1: none).
    let maxLevel: UnsafeMutablePointer<Int>
    private let maskCount: Int

    init(widths: [Int]) {
        var listed: [Int: (first: Int, starts: [Int])] = [:]
        var all: [UInt32] = []
        var stride = 1
        for w in widths where listed[w] == nil {
            var starts = [all.count]
            var rho = 0
            while rho <= w && starts.last! - starts[0] + binomial(w, rho) <= BucketMasks.capacity {
                // Every w-bit mask with rho bits set, in increasing order (Gosper's hack).
                var mask = (1 << rho) - 1
                while mask < 1 << w {
                    all.append(UInt32(mask))
                    if mask == 0 { break }
                    let c = mask & -mask
                    let r = mask + c
                    mask = (((r ^ mask) >> 2) / c) | r
                }
                starts.append(all.count)
                rho += 1
            }
            listed[w] = (starts[0], starts)
            stride = Swift.max(stride, starts.count)
        }
        maskCount = Swift.max(1, all.count)
        masks = .allocate(capacity: maskCount)
        masks.initialize(repeating: 0, count: maskCount)
        for (i, x) in all.enumerated() { masks[i] = x }
        startStride = stride
        starts = .allocate(capacity: widths.count * stride)
        starts.initialize(repeating: 0, count: widths.count * stride)
        maxLevel = .allocate(capacity: Swift.max(1, widths.count))
        for (t, w) in widths.enumerated() {
            let list = listed[w]!.starts
            for (j, v) in list.enumerated() { starts[t * stride + j] = v }
            maxLevel[t] = list.count - 2
        }
    }

    deinit { masks.deallocate(); starts.deallocate(); maxLevel.deallocate() }
}

/// Receives the candidates of one probed level whose distance is within `limit`.
protocol CandidateSink {
    /// Candidates farther than this are dropped before `take`.
    var limit: Int { get }
    /// A candidate: row position, distance to the query, its code.
    mutating func take(row: Int, distance: Int, code: UnsafeRawPointer)
}

/// The k best (distance, row) pairs seen so far, selected by a histogram of distances so that ids are read only
/// for the final answers (ties at the k-th distance are resolved by id in `result`).
struct NearestSelection {
    let k: Int
    /// Accepted candidates per distance (only entries ≤ `threshold` are meaningful).
    let histogram: UnsafeMutablePointer<Int>
    let bits: Int
    /// T: the smallest distance D with at least k accepted candidates at distance ≤ D (K until k are accepted);
    /// a candidate farther than T cannot be among the k best.
    private(set) var threshold: Int
    /// Accepted candidates at distance ≤ T.
    private(set) var kept = 0
    /// Accepted candidates, (distance << 32) | row; those beyond T are stale and dropped by `compact`.
    private(set) var accepted: [UInt64] = []
    /// `accepted.count` at which stale entries are dropped.
    private var compactAt: Int

    init(k: Int, histogram: UnsafeMutablePointer<Int>, bits: Int) {
        self.k = k
        self.histogram = histogram
        self.bits = bits
        threshold = bits
        compactAt = Swift.max(4 * k, 1024)
        accepted.reserveCapacity(Swift.min(compactAt, 1 << 16))
    }

    var isFull: Bool { kept >= k }

    mutating func reset() {
        histogram.update(repeating: 0, count: bits + 1)
        threshold = bits
        kept = 0
        accepted.removeAll(keepingCapacity: true)
        compactAt = Swift.max(4 * k, 1024)
    }

    /// Accepts a new candidate at `distance` ≤ `threshold`.
    @inline(__always)
    mutating func add(row: Int, distance: Int) {
        accepted.append(UInt64(distance) << 32 | UInt64(row))
        histogram[distance] += 1
        kept += 1
        // Lower T while the candidates at distance ≤ T − 1 are already k (then none at T can be kept).
        while threshold > 0 && kept - histogram[threshold] >= k {
            kept -= histogram[threshold]
            threshold -= 1
        }
        if accepted.count >= compactAt { compact() }
    }

    /// Drops the accepted candidates beyond T; grows the limit when many ties remain.
    private mutating func compact() {
        let t = UInt64(threshold)
        accepted.removeAll { $0 >> 32 > t }
        compactAt = Swift.max(compactAt, 2 * accepted.count)
    }

    /// The k best in (distance, id) order: every candidate closer than T, then those at T with the smallest ids.
    ///
    /// A counting sort by distance (the histogram gives each distance's place), then a sort by id within each
    /// distance: cheaper than a comparison sort of the whole list.
    func result(ids: UnsafePointer<UInt64>) -> [Neighbor] {
        let t = threshold
        // start[d]: where the candidates at distance d go (prefix sums of the histogram over 0…T).
        var start = [Int](repeating: 0, count: t + 2)
        for d in 0...t { start[d + 1] = start[d] + histogram[d] }
        let total = start[t + 1]   // == kept
        var out = [Neighbor](repeating: Neighbor(id: 0, distance: 0), count: total)
        out.withUnsafeMutableBufferPointer { o in
            var next = start
            for a in accepted where Int(a >> 32) <= t {
                let d = Int(a >> 32)
                o[next[d]] = Neighbor(id: ids[Int(a & 0xFFFF_FFFF)], distance: d)
                next[d] += 1
            }
            for d in 0...t where start[d + 1] - start[d] > 1 {
                o[start[d]..<start[d + 1]].sort { $0.id < $1.id }   // ids are unique: order is total
            }
        }
        if out.count > k { out.removeLast(out.count - k) }
        return out
    }
}

/// k-NN sink: drops candidates already seen in another table, adds the others to the selection.
struct NearestSink: CandidateSink {
    let tb: MultiIndexHashing.Tables
    let s: MultiIndexHashing.Scratch
    var selection: NearestSelection

    var limit: Int { selection.threshold }

    @inline(__always)
    mutating func take(row: Int, distance: Int, code: UnsafeRawPointer) {
        // Seen at an earlier level if within the radius some table was already probed to (the current table's
        // radius is still one less than this level's, so it never matches there).
        for u in 0..<tb.m where s.radii[u] >= 0 {
            if (tb.subs[u].key(code) ^ s.qkeys[u]).nonzeroBitCount <= s.radii[u] { return }
        }
        selection.add(row: row, distance: distance)
    }
}

/// Radius sink: keeps an item once, in the first table (lowest index) whose probed radius covers it.
struct WithinSink: CandidateSink {
    let tb: MultiIndexHashing.Tables
    let s: MultiIndexHashing.Scratch
    let radius: Int
    /// The table being probed.
    var table: Int
    var found: [Neighbor]

    var limit: Int { radius }

    @inline(__always)
    mutating func take(row: Int, distance: Int, code: UnsafeRawPointer) {
        for u in 0..<table where s.radii[u] >= 0 {
            if (tb.subs[u].key(code) ^ s.qkeys[u]).nonzeroBitCount <= s.radii[u] { return }
        }
        found.append(Neighbor(id: tb.ids[row], distance: distance))
    }
}

/// n choose k for small n (substring widths ≤ 20), saturating at Int.max / 4.
@inline(__always)
func binomial(_ n: Int, _ k: Int) -> Int {
    if k < 0 || k > n { return 0 }
    var result = 1
    for i in 0..<Swift.min(k, n - k) {
        result = result * (n - i) / (i + 1)
        if result > Int.max / 64 { return Int.max / 4 }
    }
    return result
}
