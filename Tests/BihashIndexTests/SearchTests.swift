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

    /// Parity pruning is active on the usual data (so the brute-force comparisons above exercise it), and gives the
    /// same answers as without it (a tiny radius budget forces nothing here: probing is forced).
    @Test func parityPruningIsActiveAndExact() throws {
        for bits in [64, 128, 24] {
            let c = Case(bits: bits, clustered: true, n: 2000, nq: 17, seed: 5)
            var mih = try MultiIndexHashing(c.index)
            mih.probeBudget = Int.max
            #expect(mih.sketchBits == Swift.min(mih.substringCount - 1, MultiIndexHashing.maxSketchBits))
            #expect(mih.sketchBits > 0)
            let refs = (0..<c.queries.count).map { c.reference($0) }
            for k in [1, 7, 100] {
                let got = try mih.search(c.queries, k: k, threads: 1)
                for q in 0..<c.queries.count { #expect(got[q] == Array(refs[q].prefix(k)), "K=\(bits) k=\(k) q=\(q)") }
            }
            for r in [bits / 8, bits / 4] {
                let got = try mih.search(c.queries, radius: r, threads: 1)
                for q in 0..<c.queries.count { #expect(got[q] == refs[q].filter { $0.distance <= r }, "K=\(bits) r=\(r) q=\(q)") }
            }
        }
    }

    /// 4-byte entries (used past 2^24 stored rows) give the same answers as the 3-byte ones.
    @Test(arguments: [64, 60, 128])
    func fourByteEntriesAreExact(bits: Int) throws {
        let c = Case(bits: bits, clustered: true, n: 1500, nq: 15, seed: 6)
        var wide = try MultiIndexHashing(c.index, substrings: nil, threads: 2, entryBytes: 4)
        wide.probeBudget = Int.max
        #expect(wide.entryBytes == 4 && wide.sketchBits > 0)
        #expect(wide.tableBytes == 4 * wide.offsetCount + wide.substringCount * 1500 * 4 + 32)
        let refs = (0..<c.queries.count).map { c.reference($0) }
        for k in [1, 10, 100, 1500] {
            let got = try wide.search(c.queries, k: k, threads: 1)
            for q in 0..<c.queries.count { #expect(got[q] == Array(refs[q].prefix(k)), "k=\(k) q=\(q)") }
        }
        let within = try wide.search(c.queries, radius: bits / 8, threads: 2)
        for q in 0..<c.queries.count { #expect(within[q] == refs[q].filter { $0.distance <= bits / 8 }) }
    }

    /// Many items at the same distance: lists in (distance, id) order, with ties broken by id (ids are not in row
    /// order), for k cutting through a tie and for long runs of ties (sorted by the general sort, > 32).
    @Test func tiesAreOrderedByID() throws {
        for bits in [64, 40] {
            // 900 rows with only 6 distinct codes: runs of ~150 rows at each distance.
            let distinct = TestCodes.random(bits: bits, count: 6, seed: 11)
            let bpc = (bits + 7) / 8
            var bytes: [UInt8] = []
            for i in 0..<900 { bytes.append(contentsOf: distinct.code(i * 7 % 6)) }
            let db = try PackedCodes(bits: bits, count: 900, bytes: bytes)
            let ids = TestCodes.ids(900, seed: 12)
            let index = try FlatIndex(codes: db, ids: ids)
            let queries = TestCodes.queries(from: db, fresh: TestCodes.random(bits: bits, count: 4, seed: 13), count: 8)
            var mih = try MultiIndexHashing(index)
            mih.probeBudget = Int.max
            #expect(bytes.count == 900 * bpc)
            for q in 0..<queries.count {
                let ref = TestCodes.ranking(db, ids: ids, query: queries, q)
                for k in [1, 5, 149, 151, 400, 900] {
                    #expect(try mih.search(queries, k: k, threads: 1)[q] == Array(ref.prefix(k)), "K=\(bits) k=\(k) q=\(q)")
                }
                for r in [0, bits / 4, bits] {
                    #expect(try mih.search(queries, radius: r, threads: 1)[q] == ref.filter { $0.distance <= r })
                }
            }
        }
    }

    /// The entry filter (AVX2, eight entries at a time, then one at a time) against a direct computation, for
    /// 3- and 4-byte entries, every count up to 40 and assorted sketches.
    @Test func entryFilterMatchesDirectComputation() {
        var rng = SeededGenerator(seed: 21)
        for (entryBytes, rowBits) in [(3, 20), (3, 21), (3, 11), (3, 24), (4, 20), (4, 28), (4, 32)] {
            let rowMask = rowBits >= 32 ? UInt32.max : (1 << UInt32(rowBits)) - 1
            let sketchBits = Swift.min(4, 8 * entryBytes - rowBits)
            for count in 0...40 {
                let keep = UInt32(truncatingIfNeeded: rng.next())
                var values: [UInt32] = []
                var bytes = [UInt8](repeating: 0, count: count * entryBytes + 32)
                for j in 0..<count {
                    let sketch = sketchBits > 0 ? UInt32(truncatingIfNeeded: rng.next()) & ((1 << UInt32(sketchBits)) - 1) : 0
                    let row = UInt32(truncatingIfNeeded: rng.next()) & rowMask
                    let value = rowBits >= 32 ? row : row | sketch << UInt32(rowBits)
                    values.append(value)
                    for b in 0..<entryBytes { bytes[j * entryBytes + b] = UInt8(truncatingIfNeeded: value >> UInt32(8 * b)) }
                }
                let expected = values.filter { v in
                    let sketch = rowBits >= 32 ? 0 : v >> UInt32(rowBits)
                    return (keep >> sketch) & 1 == 1
                }.map { $0 & rowMask }
                var out = [UInt32](repeating: 0, count: count + 8)
                let kept = bytes.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { o in
                        MultiIndexHashing.filterEntries(b.baseAddress!, count: count, entryBytes: entryBytes,
                                                        rowBits: rowBits, keep: keep, into: o.baseAddress!)
                    }
                }
                #expect(Array(out.prefix(kept)) == expected, "bytes=\(entryBytes) rowBits=\(rowBits) n=\(count)")
            }
        }
    }

    /// The pass set of the parity test: x passes when it differs from the target in at most `slack` bits.
    @Test func keepMaskCountsMismatches() {
        for bits in 0...4 {
            for target in 0..<(UInt32(1) << UInt32(bits)) {
                for slack in -1...5 {
                    let mask = MultiIndexHashing.keepMask(target, slack, bits)
                    for x in 0..<(UInt32(1) << UInt32(bits)) {
                        #expect((mask >> x) & 1 == ((x ^ target).nonzeroBitCount <= slack ? 1 : 0))
                    }
                }
            }
        }
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
