import BihashCore
import Foundation

/// Exact k-NN and radius search in Hamming space by multi-index hashing (Norouzi, Punjani & Fleet,
/// "Fast Search in Hamming Space with Multi-Index Hashing", CVPR 2012; TPAMI 2014).
///
/// Each K-bit code is cut into m disjoint substrings, and each substring indexes one table (direct addressing,
/// 2^s buckets of row positions). By the pigeonhole principle, an item within distance r of the query lies
/// within ⌊r/m⌋ of it in at least one substring, so probing the buckets near the query's substrings finds every
/// near item without scanning. k-NN grows the probing radius one table at a time: after table i has been probed
/// to radius rᵢ, every item closer than Σ(rᵢ + 1) has been seen, and the search stops once the k-th best
/// distance is below that bound. Results are exactly those of `FlatIndex` (same (distance, id) order).
///
/// When the probing would cost more than a scan (random codes, large radius), a query falls back to the flat
/// scan, so the answer is always exact. Items seen twice are recognised without a per-query bitmap: an item
/// found in table t was already found if its substring distance in some other table is within that table's
/// probed radius.
///
/// ```swift
/// let mih = try MultiIndexHashing(index)           // m chosen from K and N as in the paper
/// let hits = try mih.search(queries, k: 100)       // == index.search(queries, k: 100)
/// let near = try mih.search(queries, radius: 8)    // every item within 8 bits
/// ```
///
/// A `MultiIndexHashing` is a snapshot of the index it was built from (sharing its codes without a copy);
/// rebuild it after adding or removing items. Memory: m tables of 4 bytes per item plus 4·2^s bytes each.
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
    /// Bucket boundaries of every table: table t's bucket b holds `entries[t·L + offsets[base+b] ..< t·L + offsets[base+b+1]]`.
    let offsets: [UInt32]
    /// Row positions, table after table (L = live items per table), each table sorted by key then row.
    let entries: [UInt32]
    /// L: live items indexed.
    let liveCount: Int
    /// Entries in the fullest bucket of any table (sizes the per-thread distance buffer).
    let largestBucket: Int

    /// Bytes held by the tables (bucket offsets and row positions), beyond the codes and ids.
    public var tableBytes: Int { 4 * (offsets.count + entries.count) }

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
        var offsets = [UInt32](repeating: 0, count: offsetBase)
        var entries = [UInt32](repeating: 0, count: m * live)
        // Counting sort of the live rows by key, one table per task (tables are independent: deterministic).
        rows.withRows { codes, _, tombstones in
            offsets.withUnsafeMutableBufferPointer { ob in
                entries.withUnsafeMutableBufferPointer { eb in
                    let o = ob.baseAddress!, e = eb.baseAddress
                    Parallel.forEachChunk(count: m, threads: threads) { _, tables in
                        for t in tables {
                            let sub = subs[t]
                            let base = o + sub.offsetBase
                            for i in 0..<rows.count where !RowStore.isDeleted(tombstones, i) {
                                base[sub.key(codes + i * rows.bytesPerCode) + 1] += 1
                            }
                            for b in 0..<(1 << sub.bits) { base[b + 1] += base[b] }
                            guard let e else { continue }
                            var cursor = Array(UnsafeBufferPointer(start: base, count: 1 << sub.bits))
                            let table = e + t * live
                            for i in 0..<rows.count where !RowStore.isDeleted(tombstones, i) {
                                let key = sub.key(codes + i * rows.bytesPerCode)
                                table[Int(cursor[key])] = UInt32(i)
                                cursor[key] += 1
                            }
                        }
                    }
                }
            }
        }
        var largest = 0
        for sub in subs {
            for b in 0..<(1 << sub.bits) {
                largest = Swift.max(largest, Int(offsets[sub.offsetBase + b + 1] - offsets[sub.offsetBase + b]))
            }
        }
        largestBucket = largest
        self.offsets = offsets
        self.entries = entries
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
        let output = UnsafeMutableBufferPointer<[Neighbor]>.allocate(capacity: nq)
        output.initialize(repeating: [])
        defer { output.deallocate() }
        let chunks = Swift.max(1, Swift.min(threads, nq))
        var fallbacks = [[Int]](repeating: [], count: chunks)
        let rows = index.rows
        let bpc = rows.bytesPerCode
        fallbacks.withUnsafeMutableBufferPointer { fb in
            rows.withRows { codes, ids, _ in
                queries.bytes.withUnsafeBytes { qb in
                    offsets.withUnsafeBufferPointer { ob in
                        entries.withUnsafeBufferPointer { eb in
                            let tables = Tables(codes: codes, ids: ids, stride: bpc, offsets: ob.baseAddress!,
                                                entries: eb.baseAddress, live: liveCount, substrings: substrings)
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
        let entries: UnsafePointer<UInt32>?
        let live: Int
        let substrings: [Substring]
    }

    /// Probing work (buckets visited + candidates checked) above which a query is cheaper as a flat scan.
    /// A probed entry costs a random memory access, tens of times a scanned code. Tests set `probeBudget` to force
    /// one path or the other.
    var probeBudget: Int? = nil
    private var budget: Int { probeBudget ?? Swift.max(2048, liveCount / 16) }

    /// Per-thread working memory of one search (no allocation per query).
    struct Scratch {
        let qwords: UnsafeMutablePointer<UInt64>
        let qkeys: UnsafeMutablePointer<Int>
        let radii: UnsafeMutablePointer<Int>
        /// Distances of one bucket's entries.
        let distances: UnsafeMutablePointer<Int32>

        init(words: Int, tables: Int, bucket: Int) {
            qwords = .allocate(capacity: Swift.max(1, words))
            qkeys = .allocate(capacity: tables)
            radii = .allocate(capacity: tables)
            distances = .allocate(capacity: Swift.max(1, bucket))
        }

        func deallocate() {
            qwords.deallocate(); qkeys.deallocate(); radii.deallocate(); distances.deallocate()
        }
    }

    /// Answers the queries in `range`; returns those left to the flat scan.
    private func searchChunk<Kern: HammingKernel>(_ kern: Kern, _ tb: Tables, _ queryBytes: UnsafeRawPointer,
                                                  _ range: Range<Int>, _ mode: FlatSearch.Mode,
                                                  _ output: UnsafeMutablePointer<[Neighbor]>) -> [Int] {
        let m = substringCount
        let bpc = tb.stride
        let scratch = Scratch(words: kern.wordCount, tables: m, bucket: largestBucket)
        defer { scratch.deallocate() }
        var heap = NeighborHeap(k: { if case .nearest(let k) = mode { return k } else { return 1 } }())
        var slow: [Int] = []
        tb.substrings.withUnsafeBufferPointer { subs in
            for qi in range {
                let qcode = queryBytes + qi * bpc
                loadQueryWords(qcode, bytesPerCode: bpc, into: scratch.qwords)
                for t in 0..<m { scratch.qkeys[t] = subs[t].key(qcode) }
                let done: Bool
                switch mode {
                case .nearest:
                    heap.removeAll()
                    done = nearest(kern, tb, subs.baseAddress!, scratch, &heap)
                    if done { output[qi] = heap.sorted() }
                case .within(let r):
                    var found: [Neighbor] = []
                    done = within(kern, tb, subs.baseAddress!, scratch, r, &found)
                    if done { output[qi] = found.sorted() }
                }
                if !done { slow.append(qi) }
            }
        }
        return slow
    }

    /// Whether the item at `x`, found in table `t`, was already found in another table u (u < `limit`, u ≠ t)
    /// probed to radius `radii[u]` (−1: not probed): then its substring distance there is within that radius.
    @inline(__always)
    private func seenElsewhere(_ subs: UnsafePointer<Substring>, _ s: Scratch, _ x: UnsafeRawPointer, _ t: Int,
                               limit: Int) -> Bool {
        for u in 0..<limit where u != t && s.radii[u] >= 0 {
            if (subs[u].key(x) ^ s.qkeys[u]).nonzeroBitCount <= s.radii[u] { return true }
        }
        return false
    }

    /// Distances from the query to the rows of one bucket, into `s.distances`.
    ///
    /// A separate branch-free loop so that the random reads of the codes overlap (memory-level parallelism);
    /// the rare survivors are then handled one by one.
    @inline(__always)
    private func bucketDistances<Kern: HammingKernel>(_ kern: Kern, _ tb: Tables, _ q: UnsafePointer<UInt64>,
                                                      _ rows: UnsafePointer<UInt32>, _ n: Int, _ s: Scratch) {
        for j in 0..<n {
            let x = tb.codes + Int(rows[j]) &* tb.stride
            s.distances[j] = Int32(truncatingIfNeeded: kern.distance(q, x))
        }
    }

    /// k-NN for one query by growing the probing radius; false when the budget ran out (heap then invalid).
    private func nearest<Kern: HammingKernel>(_ kern: Kern, _ tb: Tables, _ subs: UnsafePointer<Substring>,
                                              _ s: Scratch, _ heap: inout NeighborHeap) -> Bool {
        let m = substringCount
        for t in 0..<m { s.radii[t] = -1 }
        var bound = 0      // every item at distance < bound has been seen
        var work = 0
        var step = 0
        let avgBucket = Swift.max(1, tb.live >> substringBits[m - 1])
        guard let entries = tb.entries else { return true }
        let q = UnsafePointer(s.qwords)
        while true {
            if heap.isFull && heap.worst.distance < bound { return true }
            let t = step % m
            let rho = s.radii[t] + 1
            let sub = subs[t]
            work += binomial(sub.bits, rho) * (1 + avgBucket)
            if work > budget { return false }
            let table = entries + t * tb.live
            let offs = tb.offsets + sub.offsetBase
            let qkey = s.qkeys[t]
            var worst = heap.isFull ? heap.worst.distance : Int.max
            var mask = (1 << rho) - 1           // Gosper's hack: every s-bit mask with rho bits set
            let end = 1 << sub.bits
            while mask < end {
                let bucket = qkey ^ mask
                let first = Int(offs[bucket])
                let n = Int(offs[bucket + 1]) - first
                if n > 0 {
                    bucketDistances(kern, tb, q, table + first, n, s)
                    for j in 0..<n where Int(s.distances[j]) <= worst {
                        let i = Int(table[first + j])
                        let d = Int(s.distances[j])
                        let id = tb.ids[i]
                        if !heap.accepts(distance: d, id: id) { continue }
                        if seenElsewhere(subs, s, tb.codes + i &* tb.stride, t, limit: m) { continue }
                        heap.offer(distance: d, id: id)
                        if heap.isFull { worst = heap.worst.distance }
                    }
                }
                if mask == 0 { break }
                let c = mask & -mask
                let r = mask + c
                mask = (((r ^ mask) >> 2) / c) | r
            }
            s.radii[t] = rho
            bound += 1
            step += 1
            if rho == sub.bits { return true }  // table t fully probed: every item has been seen
        }
    }

    /// Radius search for one query; false when the probing would exceed the budget (nothing written).
    private func within<Kern: HammingKernel>(_ kern: Kern, _ tb: Tables, _ subs: UnsafePointer<Substring>,
                                             _ s: Scratch, _ r: Int, _ found: inout [Neighbor]) -> Bool {
        let m = substringCount
        // Probing radii with Σ(rᵢ + 1) = r + 1: every item within r is within rᵢ in some table i.
        let total = r + 1
        var work = 0
        let avgBucket = Swift.max(1, tb.live >> substringBits[m - 1])
        for t in 0..<m {
            let share = total / m + (t < total % m ? 1 : 0)
            s.radii[t] = Swift.min(share - 1, substringBits[t])
            if s.radii[t] >= 0 { for rho in 0...s.radii[t] { work += binomial(substringBits[t], rho) * (1 + avgBucket) } }
        }
        if work > budget { return false }
        guard let entries = tb.entries else { return true }
        let q = UnsafePointer(s.qwords)
        for t in 0..<m where s.radii[t] >= 0 {
            let sub = subs[t]
            let table = entries + t * tb.live
            let offs = tb.offsets + sub.offsetBase
            let qkey = s.qkeys[t]
            let end = 1 << sub.bits
            for rho in 0...s.radii[t] {
                var mask = (1 << rho) - 1
                while mask < end {
                    let bucket = qkey ^ mask
                    let first = Int(offs[bucket])
                    let n = Int(offs[bucket + 1]) - first
                    if n > 0 {
                        bucketDistances(kern, tb, q, table + first, n, s)
                        for j in 0..<n where Int(s.distances[j]) <= r {
                            let i = Int(table[first + j])
                            // Counted in the first table (lowest index) where it falls within that table's radius.
                            if seenElsewhere(subs, s, tb.codes + i &* tb.stride, t, limit: t) { continue }
                            found.append(Neighbor(id: tb.ids[i], distance: Int(s.distances[j])))
                        }
                    }
                    if mask == 0 { break }
                    let c = mask & -mask
                    let rr = mask + c
                    mask = (((rr ^ mask) >> 2) / c) | rr
                }
            }
        }
        return true
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
