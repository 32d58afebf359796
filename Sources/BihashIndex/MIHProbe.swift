import BihashCore
import CPrefetch

/// Probing the multi-index hashing tables: the read-only view shared by the search threads, the per-thread
/// scratch memory, and the probe of one level (table t, substring distance ρ).
extension MultiIndexHashing {
    /// Read-only pointers into the snapshot, shared by the worker threads.
    struct Tables {
        let codes: UnsafeRawPointer
        let ids: UnsafePointer<UInt64>
        let stride: Int
        let offsets: UnsafePointer<UInt32>
        /// Entries of the tables that have them (all but table 0 when `direct`).
        let entries: UnsafeRawPointer
        let entryBytes: Int
        let rowBits: Int
        /// Whether table 0 is read in place: the rows are in code order, so its bucket b is the rows
        /// `offsets[b] ..< offsets[b+1]` themselves (removed ones included, skipped by `tombstones`).
        let direct: Bool
        /// Removed rows (nil when none).
        let tombstones: UnsafePointer<UInt64>?
        let sketch: SketchLayout
        let live: Int
        let subs: UnsafePointer<Substring>
        let m: Int
        let masks: BucketMasks
        let costs: LevelCosts
        /// Work (buckets + entries) after which a query falls back to the scan.
        let budget: Int

        /// Where table `t`'s entries start (t ≥ 1 when `direct`).
        @inline(__always)
        func table(_ t: Int) -> UnsafePointer<UInt8> {
            (entries + (direct ? t &- 1 : t) &* live &* entryBytes).assumingMemoryBound(to: UInt8.self)
        }
    }

    /// Buckets handled per block of the probing pipeline (their offsets, then their entries, are prefetched a
    /// block at a time).
    static let blockSize = 256
    /// Candidates gathered before their distances are computed in one loop (their prefetched codes stay in L1).
    static let chunkSize = 256

    /// Per-thread working memory of one search (no allocation per query).
    struct Scratch {
        let qwords: UnsafeMutablePointer<UInt64>
        let qkeys: UnsafeMutablePointer<Int>
        /// Parity of each of the query's substrings.
        let qparity: UnsafeMutablePointer<UInt32>
        /// Per table t, the parities of the query's pieces of the next substring (as in t's sketches).
        let qpieces: UnsafeMutablePointer<UInt32>
        /// Substring radius each table has been probed to (−1: not probed).
        let radii: UnsafeMutablePointer<Int>
        /// The block's buckets.
        let buckets: UnsafeMutablePointer<Int>
        /// The block's non-empty buckets: first entry and entry count.
        let spanFirst: UnsafeMutablePointer<Int>
        let spanCount: UnsafeMutablePointer<Int>
        /// Row positions of the candidates gathered so far (up to two chunks, plus the 8 values
        /// `bihash_filter_entries` may write past its last), and their distances.
        let rows: UnsafeMutablePointer<UInt32>
        let distances: UnsafeMutablePointer<Int32>

        init(words: Int, tables: Int) {
            qwords = .allocate(capacity: Swift.max(1, words))
            qkeys = .allocate(capacity: tables)
            qparity = .allocate(capacity: tables)
            qpieces = .allocate(capacity: tables)
            radii = .allocate(capacity: tables)
            buckets = .allocate(capacity: MultiIndexHashing.blockSize)
            spanFirst = .allocate(capacity: MultiIndexHashing.blockSize)
            spanCount = .allocate(capacity: MultiIndexHashing.blockSize)
            rows = .allocate(capacity: 2 * MultiIndexHashing.chunkSize + 8)
            distances = .allocate(capacity: 2 * MultiIndexHashing.chunkSize)
        }

        func deallocate() {
            qwords.deallocate(); qkeys.deallocate(); qparity.deallocate(); qpieces.deallocate(); radii.deallocate()
            buckets.deallocate(); spanFirst.deallocate(); spanCount.deallocate()
            rows.deallocate(); distances.deallocate()
        }
    }

    /// The buckets of table `t` at substring distance exactly `rho` from `key`, one at a time: from the listed
    /// masks for the low levels, else enumerating the rho-bit masks in increasing order with Gosper's hack (whose
    /// division per bucket costs more than the listed masks' sequential read).
    struct Buckets {
        let key: Int
        let masks: UnsafePointer<UInt32>
        /// Listed masks: the next index and the end (`listed` false: Gosper's hack).
        var index: Int
        let end: Int
        let listed: Bool
        /// Gosper's hack: the next mask, and 2^s.
        var mask: Int
        let limit: Int

        @inline(__always)
        init(_ tb: Tables, _ t: Int, key: Int, level rho: Int) {
            self.key = key
            masks = UnsafePointer(tb.masks.masks)
            if rho <= tb.masks.maxLevel[t] {
                let row = tb.masks.starts + t &* tb.masks.startStride
                listed = true
                index = row[rho]
                end = row[rho + 1]
                mask = 0
                limit = 0
            } else {
                listed = false
                index = 0
                end = 0
                mask = (1 << rho) - 1
                limit = 1 << tb.subs[t].bits
            }
        }

        /// The next bucket, or −1 after the last.
        @inline(__always)
        mutating func next() -> Int {
            if listed {
                if index == end { return -1 }
                index &+= 1
                return key ^ Int(masks[index &- 1])
            }
            if mask >= limit { return -1 }
            let b = key ^ mask
            if mask == 0 {
                mask = limit
            } else {
                let c = mask & -mask
                let r = mask + c
                mask = (((r ^ mask) >> 2) / c) | r
            }
            return b
        }
    }

    /// Computes the distances of the `count` candidates in `s.rows` in one branch-free loop (their codes were
    /// prefetched when they were gathered) that also moves those within `sink.limit` to the front, then hands
    /// these to the sink (re-checking the limit, which falls as candidates are accepted).
    @inline(__always)
    static func flush<Kern: HammingKernel, Sink: CandidateSink>(_ kern: Kern, _ tb: Tables, _ s: Scratch,
                                                                _ count: Int, _ sink: inout Sink) {
        let q = UnsafePointer(s.qwords)
        var limit = sink.limit
        var near = 0
        for j in 0..<count {
            let row = s.rows[j]
            let d = kern.distance(q, tb.codes + Int(row) &* tb.stride)
            s.rows[near] = row                                  // near ≤ j: in place
            s.distances[near] = Int32(truncatingIfNeeded: d)
            near &+= Int(truncatingIfNeeded: UInt(bitPattern: limit &- d) >> UInt(Int.bitWidth - 1)) ^ 1
        }
        for j in 0..<near where Int(s.distances[j]) <= limit {
            let i = Int(s.rows[j])
            sink.take(row: i, distance: Int(s.distances[j]), code: tb.codes + i &* tb.stride)
            limit = sink.limit
        }
    }

    /// Writes the row positions of the `count` entries at `entries` whose sketch passes `test` with `slack` to
    /// `rows[0]`, `rows[1]`, … and returns how many (AVX2, eight entries at a time: `bihash_filter_entries`). Reads
    /// up to 32 bytes past the last entry and writes up to 8 values past the last row kept.
    @inline(__always)
    static func filterEntries(_ entries: UnsafePointer<UInt8>, count: Int, entryBytes: Int, rowBits: Int,
                              test: SketchTest, slack: Int, into rows: UnsafeMutablePointer<UInt32>) -> Int {
        bihash_filter_entries(entries, count, UInt32(truncatingIfNeeded: entryBytes),
                              UInt32(truncatingIfNeeded: rowBits), test.target, test.pieceMask, test.floor,
                              Int32(clamping: slack), rows)
    }

    /// Probes the buckets of table `t` at substring distance exactly `rho` from the query.
    ///
    /// A pipeline of three stages, a block of `blockSize` buckets at a time, each stage prefetching what the next
    /// one reads so that the random reads of a stage overlap instead of each waiting for memory: (1) list the
    /// block's buckets and prefetch their offsets; (2) read the offsets and prefetch the entries of the non-empty
    /// buckets (for table 0 read in place, the codes of their rows); (3) read the entries, keep the row positions
    /// of those that pass the sketch test (eight entries at a time, without branches) and prefetch their codes; a
    /// chunk of candidates at a time, their distances are then computed and those within `sink.limit` go to the
    /// sink (`flush`). Table 0 in place: the live rows of the buckets are tested directly (their codes are
    /// contiguous and were prefetched in stage 2; few pass).
    ///
    /// Sketch test: an item new at this level differs from the query by at least `base` bits, plus the extra bits
    /// its sketch proves (`SketchTest`); it is skipped when that exceeds `sink.limit`. Once `sink.limit` falls
    /// below `base`, no item new at this level can qualify and the level ends early (the caller's stopping rule
    /// then holds). Adds the buckets and entries read to `work`; returns false (the level unfinished) once it
    /// exceeds the budget.
    @inline(__always)
    static func probeLevel<Kern: HammingKernel, Sink: CandidateSink>(_ kern: Kern, _ tb: Tables, _ s: Scratch,
                                                                     _ t: Int, _ rho: Int, base: Int,
                                                                     test: SketchTest, _ sink: inout Sink,
                                                                     _ work: inout Int) -> Bool {
        let sub = tb.subs[t]
        let offs = tb.offsets + sub.offsetBase
        let inPlace = t == 0 && tb.direct
        let table = inPlace ? UnsafePointer<UInt8>(bitPattern: 16)! : tb.table(t)
        let chunk = MultiIndexHashing.chunkSize
        let eb = tb.entryBytes
        let stride = tb.stride
        var fill = 0
        var buckets = Buckets(tb, t, key: s.qkeys[t], level: rho)
        work &+= binomial(sub.bits, rho)
        var more = true
        while more {
            // (1) The next block of buckets; prefetch their offsets.
            var nb = 0
            while nb < MultiIndexHashing.blockSize {
                let b = buckets.next()
                if b < 0 { more = false; break }
                bihash_prefetch(offs + b)
                s.buckets[nb] = b
                nb &+= 1
            }
            // (2) Their ranges; prefetch the entries (or, in place, the codes) of the non-empty ones.
            var spans = 0, total = 0
            for i in 0..<nb {
                let b = s.buckets[i]
                let first = Int(offs[b])
                let n = Int(offs[b &+ 1]) &- first
                if inPlace {
                    // The bucket's codes are contiguous: prefetch its lines (the first 16; the hardware
                    // prefetcher follows a longer run).
                    var line = tb.codes + first &* stride
                    let end = tb.codes + (first &+ Swift.min(n, 16 &* 64 / stride)) &* stride
                    while line < end { bihash_prefetch(line); line += 64 }
                } else {
                    // Both ends of the bucket's entries (a bucket of ~16 entries often spans two lines).
                    bihash_prefetch(table + first &* eb)
                    bihash_prefetch(table + ((first &+ n) &* eb &- 1))
                }
                s.spanFirst[spans] = first
                s.spanCount[spans] = n
                spans &+= n > 0 ? 1 : 0
                total &+= n
            }
            work &+= total
            if work > tb.budget { return false }
            // (3) Their candidates.
            if inPlace {
                // Every live row of the buckets: their codes are contiguous and being fetched, so test them
                // directly (few pass: no staging as for the scattered candidates of the other tables).
                let q = UnsafePointer(s.qwords)
                var limit = sink.limit
                if limit < base { return true }
                for x in 0..<spans {
                    let first = s.spanFirst[x]
                    for r in first..<(first &+ s.spanCount[x]) {
                        let code = tb.codes + r &* stride
                        let d = kern.distance(q, code)
                        if d <= limit {
                            if let dead = tb.tombstones, RowStore.isDeleted(dead, r) { continue }
                            sink.take(row: r, distance: d, code: code)
                            limit = sink.limit
                        }
                    }
                    if limit < base { return true }
                }
                continue
            }
            for x in 0..<spans {
                var first = s.spanFirst[x]
                var n = s.spanCount[x]
                while n > 0 {
                    let take = Swift.min(n, chunk)
                    let slack = sink.limit &- base
                    if slack < 0 { if fill > 0 { flush(kern, tb, s, fill, &sink) }; return true }
                    // The entries whose sketch allows them within the limit; prefetch their codes.
                    let from = fill
                    fill &+= filterEntries(table + first &* eb, count: take, entryBytes: eb, rowBits: tb.rowBits,
                                           test: test, slack: slack, into: s.rows + fill)
                    for j in from..<fill { bihash_prefetch(tb.codes + Int(s.rows[j]) &* stride) }
                    first &+= take
                    n &-= take
                    if fill >= chunk { flush(kern, tb, s, fill, &sink); fill = 0 }
                }
            }
        }
        if fill > 0 { flush(kern, tb, s, fill, &sink) }
        return true
    }
}

/// What an entry's sketch is tested against at one level of one table (see `MultiIndexHashing` and
/// `bihash_filter_entries`): the query's piece parities of the next substring and the target parities of the
/// following ones, which bits of the sketch are pieces, and the next substring's floor (its radius + 1).
struct SketchTest {
    let target: UInt32
    let pieceMask: UInt32
    let floor: UInt32
}

/// How the spare bits of an entry are used (see `MultiIndexHashing`), and the piece masks of every table.
/// Immutable after `init`.
final class SketchLayout: @unchecked Sendable {
    /// Pieces of the next substring in every sketch (its low bits), then parity bits of the substrings after it.
    let pieceCount: Int
    let parityCount: Int
    /// `pieceMasks[t * pieceCount + i]`: the key bits of piece i of substring t (every table's sketch holds the
    /// pieces of the next substring, so table t − 1's sketches use substring t's masks).
    let pieceMasks: UnsafeMutablePointer<UInt32>

    /// Layout for `sketchBits` spare bits and substrings of the given widths.
    init(sketchBits: Int, widths: [Int]) {
        let m = widths.count
        let sb = Swift.max(0, sketchBits)
        if m < 2 || sb == 0 {
            pieceCount = 0
            parityCount = 0
        } else {
            // Most of the bits go to the pieces of the next substring (a count of mismatched pieces bounds its
            // distance, and their parities give its parity); one parity bit each for the following ones.
            pieceCount = Swift.min(widths.min()!, Swift.max(sb - (m - 2), (sb + 1) / 2))
            parityCount = Swift.max(0, Swift.min(m - 2, sb - pieceCount))
        }
        pieceMasks = .allocate(capacity: Swift.max(1, m * pieceCount))
        for (t, w) in widths.enumerated() {
            for i in 0..<pieceCount {
                let lo = i * w / pieceCount, hi = (i + 1) * w / pieceCount
                pieceMasks[t * pieceCount + i] = UInt32(((1 << UInt64(hi - lo)) - 1) << UInt64(lo))
            }
        }
    }

    /// The parities of the pieces of substring `u` of a code whose key there is `key`, one bit per piece.
    @inline(__always)
    func pieces(of key: Int, substring u: Int) -> UInt32 {
        var bits: UInt32 = 0
        let k = UInt32(truncatingIfNeeded: key)
        for i in 0..<pieceCount {
            bits |= UInt32((k & pieceMasks[u &* pieceCount &+ i]).nonzeroBitCount & 1) << UInt32(i)
        }
        return bits
    }

    deinit { pieceMasks.deallocate() }
}

/// Receives the candidates of one probed level whose distance is within `limit`.
protocol CandidateSink {
    /// Candidates farther than this are dropped before `take`.
    var limit: Int { get }
    /// A candidate: row position, distance to the query, its code.
    mutating func take(row: Int, distance: Int, code: UnsafeRawPointer)
}

/// The k best (distance, row) pairs seen so far, selected by a histogram of distances so that ids are read only
/// for the final answers (ties at the k-th distance are resolved by id in `result`). Its buffers are allocated
/// once per search thread and reused by every query (`reset`); `deallocate` releases them.
struct NearestSelection {
    let k: Int
    /// Accepted candidates per distance (only entries ≤ `threshold` are meaningful).
    let histogram: UnsafeMutablePointer<Int>
    /// K + 2 positions used by `result`.
    private let positions: UnsafeMutablePointer<Int>
    let bits: Int
    /// T: the smallest distance D with at least k accepted candidates at distance ≤ D (K until k are accepted);
    /// a candidate farther than T cannot be among the k best.
    private(set) var threshold: Int
    /// Accepted candidates at distance ≤ T.
    private(set) var kept = 0
    /// Accepted candidates, (distance << 32) | row; those beyond T are stale and dropped by `compact`.
    private var accepted: UnsafeMutablePointer<UInt64>
    private var count = 0
    private var capacity: Int
    /// `count` at which stale entries are dropped.
    private var compactAt: Int

    init(k: Int, bits: Int) {
        self.k = k
        self.bits = bits
        histogram = .allocate(capacity: bits + 1)
        histogram.initialize(repeating: 0, count: bits + 1)
        positions = .allocate(capacity: bits + 2)
        threshold = bits
        compactAt = Swift.max(4 * k, 1024)
        capacity = Swift.min(compactAt, 1 << 16)
        accepted = .allocate(capacity: capacity)
    }

    func deallocate() {
        histogram.deallocate()
        positions.deallocate()
        accepted.deallocate()
    }

    var isFull: Bool { kept >= k }

    mutating func reset() {
        histogram.update(repeating: 0, count: bits + 1)
        threshold = bits
        kept = 0
        count = 0
        compactAt = Swift.max(4 * k, 1024)
    }

    /// Accepts a new candidate at `distance` ≤ `threshold`.
    @inline(__always)
    mutating func add(row: Int, distance: Int) {
        if count == capacity { grow() }
        accepted[count] = UInt64(distance) << 32 | UInt64(row)
        count &+= 1
        histogram[distance] &+= 1
        kept &+= 1
        // Lower T while the candidates at distance ≤ T − 1 are already k (then none at T can be kept).
        while threshold > 0 && kept &- histogram[threshold] >= k {
            kept &-= histogram[threshold]
            threshold &-= 1
        }
        if count >= compactAt { compact() }
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * capacity)
        bigger.moveInitialize(from: accepted, count: count)
        accepted.deallocate()
        accepted = bigger
        capacity *= 2
    }

    /// Drops the accepted candidates beyond T; grows the limit when many ties remain.
    private mutating func compact() {
        let t = UInt64(threshold)
        var n = 0
        for i in 0..<count where accepted[i] >> 32 <= t {
            accepted[n] = accepted[i]
            n &+= 1
        }
        count = n
        compactAt = Swift.max(compactAt, 2 * count)
    }

    /// The k best in (distance, id) order: every candidate closer than T, then those at T with the smallest ids.
    func result(ids: UnsafePointer<UInt64>) -> [Neighbor] {
        rankedNeighbors(accepted, count, histogram: histogram, maxDistance: threshold, positions: positions,
                        ids: ids, limit: k)
    }
}

/// The candidates (`(distance << 32) | row`, those beyond `maxDistance` ignored) in (distance, id) order, at most
/// `limit` of them: a counting sort by distance (`histogram` counts the candidates at each distance ≤
/// `maxDistance`; `positions` has room for maxDistance + 1 entries), the ids read, then a sort by id within each
/// distance: cheaper than a comparison sort of the whole list.
func rankedNeighbors(_ accepted: UnsafePointer<UInt64>, _ count: Int, histogram: UnsafePointer<Int>, maxDistance t: Int,
                     positions: UnsafeMutablePointer<Int>, ids: UnsafePointer<UInt64>, limit: Int) -> [Neighbor] {
    let t64 = UInt64(t)
    // The ids are random reads: issue them all first.
    for i in 0..<count where accepted[i] >> 32 <= t64 {
        bihash_prefetch(ids + Int(truncatingIfNeeded: accepted[i] & 0xFFFF_FFFF))
    }
    // positions[d]: where the next candidate at distance d goes (prefix sums of the histogram over 0…T).
    var total = 0
    for d in 0...t {
        positions[d] = total
        total &+= histogram[d]
    }
    var out = [Neighbor](unsafeUninitializedCapacity: total) { o, initialized in
        for i in 0..<count where accepted[i] >> 32 <= t64 {
            let d = Int(truncatingIfNeeded: accepted[i] >> 32)
            let row = Int(truncatingIfNeeded: accepted[i] & 0xFFFF_FFFF)
            (o.baseAddress! + positions[d]).initialize(to: Neighbor(id: ids[row], distance: d))
            positions[d] &+= 1
        }
        initialized = total
        // Now positions[d] is the end of distance d's range (and the start of d + 1's).
        var start = 0
        for d in 0...t {
            let end = positions[d]
            if end &- start > 1 { sortByID(o.baseAddress! + start, end &- start) }
            start = end
        }
    }
    if out.count > limit { out.removeLast(out.count - limit) }
    return out
}

/// Sorts `n` neighbours at one distance by id (insertion sort: the ranges are short); ids are unique.
@inline(__always)
func sortByID(_ p: UnsafeMutablePointer<Neighbor>, _ n: Int) {
    if n > 32 {
        var range = UnsafeMutableBufferPointer(start: p, count: n)
        range.sort { $0.id < $1.id }
        return
    }
    for i in 1..<n {
        let x = p[i]
        var j = i
        while j > 0 && p[j &- 1].id > x.id {
            p[j] = p[j &- 1]
            j &-= 1
        }
        p[j] = x
    }
}

/// Every candidate within the radius, as `(distance << 32) | row` with a histogram of distances, so that ids are
/// read only once the list is complete. Buffers allocated once per search thread and reused by every query
/// (`reset`); `deallocate` releases them.
struct WithinList {
    let radius: Int
    let histogram: UnsafeMutablePointer<Int>
    private let positions: UnsafeMutablePointer<Int>
    private var found: UnsafeMutablePointer<UInt64>
    private var count = 0
    private var capacity = 1024

    init(radius: Int) {
        self.radius = radius
        histogram = .allocate(capacity: radius + 1)
        histogram.initialize(repeating: 0, count: radius + 1)
        positions = .allocate(capacity: radius + 1)
        found = .allocate(capacity: capacity)
    }

    func deallocate() {
        histogram.deallocate()
        positions.deallocate()
        found.deallocate()
    }

    mutating func reset() {
        histogram.update(repeating: 0, count: radius + 1)
        count = 0
    }

    @inline(__always)
    mutating func add(row: Int, distance: Int) {
        if count == capacity {
            let bigger = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * capacity)
            bigger.moveInitialize(from: found, count: count)
            found.deallocate()
            found = bigger
            capacity *= 2
        }
        found[count] = UInt64(distance) << 32 | UInt64(row)
        count &+= 1
        histogram[distance] &+= 1
    }

    /// The items found, in (distance, id) order.
    func result(ids: UnsafePointer<UInt64>) -> [Neighbor] {
        rankedNeighbors(found, count, histogram: histogram, maxDistance: radius, positions: positions, ids: ids,
                        limit: Int.max)
    }
}

/// Whether the item with code `code`, found at the level being probed, was found at an earlier level: its
/// substring distance in some table u is within the radius u was probed to (the table being probed still has its
/// radius one below the level's, so it never matches there).
@inline(__always)
func seenBefore(_ tb: MultiIndexHashing.Tables, _ s: MultiIndexHashing.Scratch, _ code: UnsafeRawPointer) -> Bool {
    for u in 0..<tb.m where s.radii[u] >= 0 {
        if (tb.subs[u].key(code) ^ s.qkeys[u]).nonzeroBitCount <= s.radii[u] { return true }
    }
    return false
}

/// k-NN sink: drops candidates already seen at an earlier level, adds the others to the selection.
struct NearestSink: CandidateSink {
    let tb: MultiIndexHashing.Tables
    let s: MultiIndexHashing.Scratch
    var selection: NearestSelection

    var limit: Int { selection.threshold }

    @inline(__always)
    mutating func take(row: Int, distance: Int, code: UnsafeRawPointer) {
        if !seenBefore(tb, s, code) { selection.add(row: row, distance: distance) }
    }
}

/// Radius sink: drops candidates already seen at an earlier level, keeps the others.
struct WithinSink: CandidateSink {
    let tb: MultiIndexHashing.Tables
    let s: MultiIndexHashing.Scratch
    var list: WithinList

    var limit: Int { list.radius }

    @inline(__always)
    mutating func take(row: Int, distance: Int, code: UnsafeRawPointer) {
        if !seenBefore(tb, s, code) { list.add(row: row, distance: distance) }
    }
}

