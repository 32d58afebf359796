import BihashCore
import Testing
@testable import BihashIndex

/// Flat and multi-index hashing search against the brute-force reference.
@Suite struct SearchTests {
    static let widths = [8, 24, 60, 64, 120, 128, 250, 256, 512]

    /// One data set: codes, ids, queries, and the brute-force ranking of every query.
    struct Case {
        let db: PackedCodes
        let ids: [UInt64]
        let queries: PackedCodes
        let index: FlatIndex
        init(bits: Int, clustered: Bool, n: Int = 1200, nq: Int = 13, seed: UInt64 = 1) {
            db = clustered
                ? TestCodes.clustered(bits: bits, count: n, centres: 12, flip: 0.1, seed: seed)
                : TestCodes.random(bits: bits, count: n, seed: seed)
            let fresh = clustered
                ? TestCodes.clustered(bits: bits, count: nq, centres: 12, flip: 0.1, seed: seed)  // same centres
                : TestCodes.random(bits: bits, count: nq, seed: seed + 100)
            ids = TestCodes.ids(n, seed: seed + 7)
            queries = TestCodes.queries(from: db, fresh: fresh, count: nq)
            index = try! FlatIndex(codes: db, ids: ids)
        }
        func reference(_ q: Int, live: Set<UInt64>? = nil) -> [Neighbor] {
            TestCodes.ranking(db, ids: ids, live: live, query: queries, q)
        }
    }

    @Test(arguments: widths, [false, true])
    func nearestMatchesBruteForce(bits: Int, clustered: Bool) throws {
        let c = Case(bits: bits, clustered: clustered)
        var mihForced = try MultiIndexHashing(c.index)
        mihForced.probeBudget = Int.max  // always probe (never fall back to the scan)
        let mihDefault = try MultiIndexHashing(c.index)
        let refs = (0..<c.queries.count).map { c.reference($0) }
        for k in [1, 10, 100, c.db.count] {
            let flat = try c.index.search(c.queries, k: k, threads: 1)
            let mih1 = try mihForced.search(c.queries, k: k, threads: 1)
            let mih2 = try mihDefault.search(c.queries, k: k, threads: 2)
            for q in 0..<c.queries.count {
                let expected = Array(refs[q].prefix(k))
                #expect(flat[q] == expected, "flat K=\(bits) k=\(k) q=\(q)")
                #expect(mih1[q] == expected, "MIH (probing) K=\(bits) k=\(k) q=\(q)")
                #expect(mih2[q] == expected, "MIH (default) K=\(bits) k=\(k) q=\(q)")
            }
        }
    }

    @Test(arguments: widths, [false, true])
    func radiusMatchesBruteForce(bits: Int, clustered: Bool) throws {
        let c = Case(bits: bits, clustered: clustered)
        var mihForced = try MultiIndexHashing(c.index)
        mihForced.probeBudget = Int.max
        let refs = (0..<c.queries.count).map { c.reference($0) }
        for r in Set([0, 1, bits / 8, bits / 4, bits / 2]) {
            let flat = try c.index.search(c.queries, radius: r, threads: 2)
            let mih = try mihForced.search(c.queries, radius: r, threads: 1)
            for q in 0..<c.queries.count {
                let expected = refs[q].filter { $0.distance <= r }
                #expect(flat[q] == expected, "flat K=\(bits) r=\(r) q=\(q)")
                #expect(mih[q] == expected, "MIH K=\(bits) r=\(r) q=\(q)")
            }
        }
    }

    @Test(arguments: [64, 24, 256])
    func everySubstringCountIsExact(bits: Int) throws {
        let c = Case(bits: bits, clustered: true, n: 600, nq: 9)
        let minM = (bits + MultiIndexHashing.maxSubstringBits - 1) / MultiIndexHashing.maxSubstringBits
        for m in Set([minM, minM + 1, bits / 4, bits / 2, bits]) where m >= minM && m <= bits {
            var mih = try MultiIndexHashing(c.index, substrings: m)
            mih.probeBudget = Int.max
            #expect(mih.substringCount == m && mih.substringBits.reduce(0, +) == bits)
            let got = try mih.search(c.queries, k: 25, threads: 1)
            let within = try mih.search(c.queries, radius: bits / 8, threads: 1)
            for q in 0..<c.queries.count {
                let ref = c.reference(q)
                #expect(got[q] == Array(ref.prefix(25)), "m=\(m) q=\(q)")
                #expect(within[q] == ref.filter { $0.distance <= bits / 8 }, "radius m=\(m) q=\(q)")
            }
        }
    }

    @Test func threadCountDoesNotChangeResults() throws {
        for bits in [64, 128, 256, 100] {
            let c = Case(bits: bits, clustered: true, n: 3000, nq: 37, seed: 3)
            let mih = try MultiIndexHashing(c.index)
            let flat1 = try c.index.search(c.queries, k: 50, threads: 1)
            #expect(try c.index.search(c.queries, k: 50, threads: 2) == flat1)
            #expect(try c.index.search(c.queries, k: 50, threads: 5) == flat1)
            #expect(try mih.search(c.queries, k: 50, threads: 1) == flat1)
            #expect(try mih.search(c.queries, k: 50, threads: 2) == flat1)
            let r1 = try c.index.search(c.queries, radius: bits / 8, threads: 1)
            #expect(try c.index.search(c.queries, radius: bits / 8, threads: 2) == r1)
            #expect(try mih.search(c.queries, radius: bits / 8, threads: 2) == r1)
            #expect(try MultiIndexHashing(c.index, threads: 1).search(c.queries, k: 50, threads: 2) == flat1)
        }
    }

    @Test func removedItemsAreNeverReturned() throws {
        let c = Case(bits: 64, clustered: true, n: 1000, nq: 11, seed: 4)
        var index = c.index
        let gone = Array(c.ids.enumerated().filter { $0.offset % 3 == 0 }.map { $0.element }.prefix(300))
        #expect(index.remove(ids: gone + [123_456_789_012]) == 300)  // unknown ids are ignored
        #expect(index.count == 700 && index.removedCount == 300)
        let live = Set(c.ids).subtracting(gone)
        var mih = try MultiIndexHashing(index)
        mih.probeBudget = Int.max
        for k in [1, 10, 100, 1000] {
            let flat = try index.search(c.queries, k: k, threads: 2)
            let fromMIH = try mih.search(c.queries, k: k, threads: 1)
            for q in 0..<c.queries.count {
                let expected = Array(c.reference(q, live: live).prefix(k))
                #expect(flat[q] == expected)
                #expect(fromMIH[q] == expected)
            }
        }
        let r = try index.search(c.queries, radius: 10, threads: 1)
        for q in 0..<c.queries.count { #expect(r[q] == c.reference(q, live: live).filter { $0.distance <= 10 }) }
        // Compaction keeps the answers.
        let before = try index.search(c.queries, k: 20)
        index.compact()
        #expect(index.storedCount == 700 && index.removedCount == 0)
        #expect(try index.search(c.queries, k: 20) == before)
    }

    @Test func emptyAndTinyIndexes() throws {
        let empty = try FlatIndex(bits: 32)
        let q = TestCodes.random(bits: 32, count: 3, seed: 9)
        #expect(try empty.search(q, k: 5) == [[], [], []])
        #expect(try empty.search(q, radius: 32) == [[], [], []])
        #expect(try MultiIndexHashing(empty).search(q, k: 5) == [[], [], []])
        #expect(try empty.search(TestCodes.random(bits: 32, count: 0, seed: 1), k: 1) == [])
        let one = try FlatIndex(codes: TestCodes.random(bits: 1, count: 2, seed: 2), ids: [7, 3])
        let q1 = TestCodes.random(bits: 1, count: 4, seed: 3)
        let got = try one.search(q1, k: 10)
        #expect(got.allSatisfy { $0.count == 2 })
        #expect(try MultiIndexHashing(one).search(q1, k: 10) == got)
    }

    @Test func invalidArgumentsThrow() throws {
        let c = Case(bits: 64, clustered: false, n: 50, nq: 2)
        let other = TestCodes.random(bits: 32, count: 2, seed: 1)
        #expect(throws: BihashError.self) { try c.index.search(other, k: 1) }
        #expect(throws: BihashError.self) { try c.index.search(c.queries, k: 0) }
        #expect(throws: BihashError.self) { try c.index.search(c.queries, k: 1, threads: 0) }
        #expect(throws: BihashError.self) { try c.index.search(c.queries, radius: -1) }
        #expect(throws: BihashError.self) { try MultiIndexHashing(c.index, substrings: 0) }
        #expect(throws: BihashError.self) { try MultiIndexHashing(c.index, substrings: 65) }
        #expect(throws: BihashError.self) { try MultiIndexHashing(c.index, substrings: 2) }  // 32-bit substrings
        let mih = try MultiIndexHashing(c.index)
        #expect(throws: BihashError.self) { try mih.search(other, k: 1) }
        #expect(throws: BihashError.self) { try mih.search(c.queries, k: -3) }
        #expect(throws: BihashError.self) { try FlatIndex(bits: 0) }
        #expect(throws: BihashError.self) { try FlatIndex(bits: 4097) }
    }

    /// Every table layout gives the brute-force answers: table 0 read in place (rows in code order) or through
    /// entries, 3- or 4-byte entries (their sketches of different sizes), and the sketch pruning is active.
    @Test(arguments: [64, 128, 24, 60])
    func everyTableLayoutIsExact(bits: Int) throws {
        let c = Case(bits: bits, clustered: true, n: 2000, nq: 17, seed: 5)
        let refs = (0..<c.queries.count).map { c.reference($0) }
        for (inPlace, entryBytes) in [(true, 3), (true, 4), (false, 3), (false, 4)] {
            var mih = try MultiIndexHashing(c.index, substrings: nil, threads: 2, entryBytes: entryBytes, inPlace: inPlace)
            mih.probeBudget = Int.max
            let m = mih.substringCount
            #expect(mih.readsFirstTableInPlace == inPlace && mih.entryBytes == entryBytes)
            #expect(mih.sketchBits == 8 * entryBytes - mih.rowBits && mih.sketch.pieceCount > 0)
            #expect(mih.sketch.parityCount == Swift.min(m - 2, mih.sketchBits - mih.sketch.pieceCount))
            #expect(mih.tableBytes == 4 * mih.offsetCount + (inPlace ? m - 1 : m) * 2000 * entryBytes + 32)
            for k in [1, 7, 100, 2000] {
                let got = try mih.search(c.queries, k: k, threads: 1)
                for q in 0..<c.queries.count {
                    #expect(got[q] == Array(refs[q].prefix(k)), "K=\(bits) inPlace=\(inPlace) eb=\(entryBytes) k=\(k) q=\(q)")
                }
            }
            for r in [bits / 8, bits / 4] {
                let got = try mih.search(c.queries, radius: r, threads: 2)
                for q in 0..<c.queries.count {
                    #expect(got[q] == refs[q].filter { $0.distance <= r }, "K=\(bits) inPlace=\(inPlace) eb=\(entryBytes) r=\(r) q=\(q)")
                }
            }
        }
        // The public initialiser reads table 0 in place (FlatIndex keeps its rows in code order).
        #expect(try MultiIndexHashing(c.index).readsFirstTableInPlace)
    }

    /// The default entry size: 4 bytes while the tables stay within twice the codes, else 3; at N = 1M, 4 bytes for
    /// 64- and 128-bit codes with table 0 in place, 3 for 256 bits or when every table has entries.
    @Test func entrySizeFollowsTheMemoryBound() throws {
        let n = 1_000_000
        func bytes(_ bits: Int, inPlace: Bool) -> Int {
            let m = MultiIndexHashing.defaultSubstringCount(bits: bits, count: n)
            return MultiIndexHashing.defaultEntryBytes(offsetCount: m * ((1 << (bits / m)) + 1),
                                                       entryTables: inPlace ? m - 1 : m, live: n, bytesPerCode: bits / 8)
        }
        #expect(bytes(64, inPlace: true) == 4 && bytes(128, inPlace: true) == 4 && bytes(256, inPlace: true) == 3)
        #expect(bytes(64, inPlace: false) == 3)
        #expect(MultiIndexHashing.defaultEntryBytes(offsetCount: 100, entryTables: 3, live: 50, bytesPerCode: 8) == 3)
        // A small index: the bucket offsets alone pass the bound, so 3 bytes; exact either way (above).
        let c = Case(bits: 64, clustered: false, n: 3000, nq: 1, seed: 8)
        #expect(try MultiIndexHashing(c.index).entryBytes == 3)
    }

    /// The 128- and 256-bit scans (`bihash_scan128`, `bihash_scan256`: four codes at a time, then one at a time)
    /// set the same flags as the generic loop, for every count up to 21 and limits from 0 (unused slot) to K + 1.
    @Test(arguments: [128, 256])
    func wideScansMatchTheGenericLoop(bits: Int) {
        var rng = SeededGenerator(seed: 61)
        let bpc = bits / 8, w = bpc / 8
        let codes = TestCodes.random(bits: bits, count: 21, seed: 62)
        var words = [UInt64](repeating: 0, count: 8 * w)
        for trial in 0..<60 {
            // Query j is code c_j with about 1/8 of its bits flipped; its limit is its distance to c_j plus 1
            // (flags c_j: the other codes are ~K/2 away), that distance itself (flags nothing) or 0 (an unused
            // slot). So the flags differ from code to code and every lane position is checked.
            var limits = [Int](repeating: 0, count: 8)
            for j in 0..<8 {
                let c = Int(rng.next() % 21)
                var d = 0
                for k in 0..<w {
                    let word = codes.bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: bpc * c + 8 * k, as: UInt64.self) }
                    let flip = rng.next() & rng.next() & rng.next()
                    words[w * j + k] = word ^ flip
                    d += flip.nonzeroBitCount
                }
                limits[j] = [d + 1, d, 0][Int(rng.next() % 3)]
            }
            for n in 0...21 {
                var fast = [UInt8](repeating: 7, count: n + 1), slow = [UInt8](repeating: 7, count: n + 1)
                let (a, b) = codes.bytes.withUnsafeBytes { cb in
                    words.withUnsafeBufferPointer { q in
                        limits.withUnsafeBufferPointer { l in
                            bits == 128
                                ? (Kernel128().scanGroup8(codes: cb.baseAddress!, stride: bpc, range: 0..<n, queries: q.baseAddress!,
                                                          limits: l.baseAddress!, flags: &fast),
                                   scanGroup(Kernel128(), codes: cb.baseAddress!, stride: bpc, range: 0..<n, queries: q.baseAddress!,
                                             limits: l.baseAddress!, flags: &slow))
                                : (Kernel256().scanGroup8(codes: cb.baseAddress!, stride: bpc, range: 0..<n, queries: q.baseAddress!,
                                                          limits: l.baseAddress!, flags: &fast),
                                   scanGroup(Kernel256(), codes: cb.baseAddress!, stride: bpc, range: 0..<n, queries: q.baseAddress!,
                                             limits: l.baseAddress!, flags: &slow))
                        }
                    }
                }
                #expect(a == b && fast == slow, "K=\(bits) trial \(trial) n=\(n)")
                #expect(fast.last == 7)  // nothing written past the n-th flag
            }
        }
    }

    /// The extra bits an entry's sketch proves (`SketchTest`), written out from its definition.
    static func extraBits(sketch: UInt32, test: SketchTest) -> Int {
        let x = sketch ^ test.target
        let c = Int((x & test.pieceMask).nonzeroBitCount), floor = Int(test.floor)
        let least = Swift.max(c, floor)
        return least - floor + ((least - c) & 1) + (x & ~test.pieceMask).nonzeroBitCount
    }

    /// The entry filter (AVX2, eight entries at a time, then one at a time) against the definition, for 3- and
    /// 4-byte entries, every count up to 40, assorted sketches, targets, floors and slacks.
    @Test func entryFilterMatchesTheDefinition() {
        var rng = SeededGenerator(seed: 21)
        for (entryBytes, rowBits) in [(3, 20), (3, 21), (3, 11), (3, 24), (4, 20), (4, 28), (4, 32), (4, 9)] {
            let rowMask = rowBits >= 32 ? UInt32.max : (1 << UInt32(rowBits)) - 1
            let sketchBits = 8 * entryBytes - rowBits
            for count in 0...40 {
                let pieces = sketchBits == 0 ? 0 : Int(rng.next() % UInt64(sketchBits + 1))
                let pieceMask: UInt32 = pieces == 0 ? 0 : (1 << UInt32(pieces)) - 1
                let sketchMask: UInt32 = sketchBits == 0 ? 0 : UInt32((UInt64(1) << UInt64(sketchBits)) - 1)
                let test = SketchTest(target: UInt32(truncatingIfNeeded: rng.next()) & sketchMask, pieceMask: pieceMask,
                                      floor: pieces == 0 ? 0 : UInt32(rng.next() % 6))
                let slack = Int(rng.next() % 9) - 1
                var values: [UInt32] = []
                var bytes = [UInt8](repeating: 0, count: count * entryBytes + 32)
                for j in 0..<count {
                    let sketch = UInt32(truncatingIfNeeded: rng.next()) & sketchMask
                    let row = UInt32(truncatingIfNeeded: rng.next()) & rowMask
                    let value = rowBits >= 32 ? row : row | sketch << UInt32(rowBits)
                    values.append(value)
                    for b in 0..<entryBytes { bytes[j * entryBytes + b] = UInt8(truncatingIfNeeded: value >> UInt32(8 * b)) }
                }
                let expected = values.filter { v in
                    let sketch = rowBits >= 32 ? 0 : v >> UInt32(rowBits)
                    return slack >= 0 && SearchTests.extraBits(sketch: sketch, test: test) <= slack
                }.map { $0 & rowMask }
                var out = [UInt32](repeating: 0, count: count + 8)
                let kept = bytes.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { o in
                        MultiIndexHashing.filterEntries(b.baseAddress!, count: count, entryBytes: entryBytes,
                                                        rowBits: rowBits, test: test, slack: slack, into: o.baseAddress!)
                    }
                }
                #expect(Array(out.prefix(kept)) == expected, "bytes=\(entryBytes) rowBits=\(rowBits) n=\(count)")
            }
        }
    }

    /// The lower bound behind the sketch test never exceeds the truth: for random codes and random probing
    /// radii, every item that is new at a level (farther than the radius in every other table) differs from the
    /// query by at least the level's base plus the extra bits its sketch proves. Checked directly on the codes
    /// (substring distances by popcount), for several widths and sketch sizes.
    @Test func sketchBoundNeverExceedsTheTrueDistance() throws {
        var rng = SeededGenerator(seed: 41)
        var checked = 0
        for (bits, n) in [(64, 3000), (128, 2000), (60, 2000), (24, 3000)] {
            let db = TestCodes.clustered(bits: bits, count: n, centres: 4, flip: 0.2, seed: 42)
            let index = try FlatIndex(codes: db)
            for entryBytes in [3, 4] {
                let mih = try MultiIndexHashing(index, substrings: nil, threads: 1, entryBytes: entryBytes, inPlace: true)
                let m = mih.substringCount
                let s = MultiIndexHashing.Scratch(words: (bits + 63) / 64, tables: m)
                defer { s.deallocate() }
                let q = TestCodes.clustered(bits: bits, count: 1, centres: 4, flip: 0.2, seed: 42)
                try q.bytes.withUnsafeBytes { qb in
                    try index.rows.withRows { codes, _, _ in
                        try mih.substrings.withUnsafeBufferPointer { sb in
                            for u in 0..<m {
                                s.qkeys[u] = sb[u].key(qb.baseAddress!)
                                s.qparity[u] = UInt32(s.qkeys[u].nonzeroBitCount & 1)
                            }
                            for u in 0..<m where m > 1 {
                                s.qpieces[u] = mih.sketch.pieces(of: s.qkeys[(u + 1) % m], substring: (u + 1) % m)
                            }
                            let tb = MultiIndexHashing.Tables(codes: codes, ids: UnsafePointer(bitPattern: 16)!, stride: index.rows.bytesPerCode,
                                            offsets: mih.memory.offsets, entries: UnsafeRawPointer(mih.memory.base),
                                            entryBytes: entryBytes, rowBits: mih.rowBits, direct: true, tombstones: nil,
                                            sketch: mih.sketch, live: n, subs: sb.baseAddress!, m: m,
                                            masks: mih.bucketMasks, costs: mih.levelCosts, budget: 0)
                            for _ in 0..<40 {
                                for u in 0..<m { s.radii[u] = Int(rng.next() % 5) - 1 }
                                let t = Int(rng.next() % UInt64(m))
                                let test = MultiIndexHashing.sketchTest(tb, s, t)
                                let base = (0..<m).reduce(0) { $0 + ($1 == t ? 0 : s.radii[$1] + 1) }
                                for i in 0..<n {
                                    let code = codes + i * index.rows.bytesPerCode
                                    let sd = (0..<m).map { (sb[$0].key(code) ^ s.qkeys[$0]).nonzeroBitCount }
                                    // New at level (t, sd[t]): beyond the radius of every other table.
                                    guard (0..<m).allSatisfy({ $0 == t || sd[$0] > s.radii[$0] }) else { continue }
                                    // The entry's sketch, as the table stores it.
                                    var sketch = mih.sketch.pieces(of: sb[(t + 1) % m].key(code), substring: (t + 1) % m)
                                    for j in 0..<mih.sketch.parityCount {
                                        sketch |= UInt32(sb[(t + 2 + j) % m].key(code).nonzeroBitCount & 1) << UInt32(mih.sketch.pieceCount + j)
                                    }
                                    let bound = sd[t] + base + SearchTests.extraBits(sketch: sketch, test: test)
                                    let truth = sd.reduce(0, +)
                                    #expect(bound <= truth, "K=\(bits) eb=\(entryBytes) t=\(t) item \(i)")
                                    if bound > truth { return }
                                    checked += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(checked > 100_000)
    }

    /// The k-NN selection and the radius list past their initial capacity (growth, compaction), against a sort.
    @Test func selectionAndListGrowPastTheirCapacity() {
        var rng = SeededGenerator(seed: 31)
        let bits = 64
        let rows = 80_000
        let ids = (0..<rows).map { _ in rng.next() }
        let spread = (0..<rows).map { _ in Int(rng.next() % 65) }
        // Uniform distances (stale entries compacted away) and one distance for all (every entry kept: the buffer
        // grows past 2^16 entries, and the k best are the k smallest ids of one long run of ties).
        for (k, distances) in [(1, spread), (50, spread), (20_000, spread), (20_000, [Int](repeating: 5, count: rows))] {
            var selection = NearestSelection(k: k, bits: bits)
            for _ in 0..<2 {
                selection.reset()
                for i in 0..<rows where distances[i] <= selection.threshold { selection.add(row: i, distance: distances[i]) }
                let expected = (0..<rows).map { Neighbor(id: ids[$0], distance: distances[$0]) }.sorted().prefix(k)
                let got = ids.withUnsafeBufferPointer { selection.result(ids: $0.baseAddress!) }
                #expect(got == Array(expected), "k=\(k)")
            }
            selection.deallocate()
        }
        var list = WithinList(radius: 20)
        for _ in 0..<2 {
            list.reset()
            for i in 0..<rows where spread[i] <= 20 { list.add(row: i, distance: spread[i]) }
            let expected = (0..<rows).filter { spread[$0] <= 20 }.map { Neighbor(id: ids[$0], distance: spread[$0]) }.sorted()
            #expect(ids.withUnsafeBufferPointer { list.result(ids: $0.baseAddress!) } == expected)
        }
        list.deallocate()
    }

    @Test func defaultSubstringCountFollowsThePaper() {
        // m ≈ K / log2(N), substrings capped at 16 bits.
        #expect(MultiIndexHashing.defaultSubstringCount(bits: 64, count: 1_000_000) == 4)
        #expect(MultiIndexHashing.defaultSubstringCount(bits: 128, count: 1_000_000) == 8)
        #expect(MultiIndexHashing.defaultSubstringCount(bits: 64, count: 1024) == 7)
        #expect(MultiIndexHashing.defaultSubstringCount(bits: 8, count: 1024) == 1)
        #expect(MultiIndexHashing.defaultSubstringCount(bits: 3, count: 0) == 3)
    }
}
