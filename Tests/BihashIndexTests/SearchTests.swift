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

    @Test func defaultSubstringCountFollowsThePaper() {
        // m ≈ K / log2(N), substrings capped at 16 bits.
        #expect(MultiIndexHashing.defaultSubstringCount(bits: 64, count: 1_000_000) == 4)
        #expect(MultiIndexHashing.defaultSubstringCount(bits: 128, count: 1_000_000) == 8)
        #expect(MultiIndexHashing.defaultSubstringCount(bits: 64, count: 1024) == 7)
        #expect(MultiIndexHashing.defaultSubstringCount(bits: 8, count: 1024) == 1)
        #expect(MultiIndexHashing.defaultSubstringCount(bits: 3, count: 0) == 3)
    }
}
