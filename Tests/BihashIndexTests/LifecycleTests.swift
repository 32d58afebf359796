import BihashCore
import Testing
@testable import BihashIndex

/// Adding, removing, compacting.
@Suite struct LifecycleTests {
    @Test func addChecksWidthCountsAndDuplicateIDs() throws {
        var index = try FlatIndex(bits: 24)
        let a = TestCodes.random(bits: 24, count: 10, seed: 1)
        try index.add(a, ids: Array(0..<10))
        #expect(index.count == 10)
        #expect(throws: BihashError.self) { try index.add(a, ids: Array(10..<19)) }            // 10 codes, 9 ids
        #expect(throws: BihashError.self) { try index.add(a, ids: Array(5..<15)) }             // 5…9 already live
        #expect(throws: BihashError.self) { try index.add(a, ids: [20, 20] + Array(21..<29)) } // duplicate in batch
        #expect(throws: BihashError.self) { try index.add(TestCodes.random(bits: 8, count: 1, seed: 2), ids: [99]) }
        #expect(index.count == 10)  // failed adds change nothing
        // A removed id can be reused; the old row stays dead.
        #expect(index.remove(ids: [3]) == 1)
        #expect(index.remove(ids: [3]) == 0)
        let b = TestCodes.random(bits: 24, count: 1, seed: 3)
        try index.add(b, ids: [3])
        let hit = try index.search(b, k: 1, threads: 1)
        #expect(hit == [[Neighbor(id: 3, distance: 0)]])
        // The live items, in code order (by code, then id), not the order they were added in.
        let (codes, ids) = try index.items()
        let added: [([UInt8], UInt64)] = (0..<10).filter { $0 != 3 }.map { (Array(a.code($0)), UInt64($0)) } + [(Array(b.code(0)), 3)]
        let expected = added.sorted { (x: ([UInt8], UInt64), y: ([UInt8], UInt64)) in
            x.0.lexicographicallyPrecedes(y.0) || (x.0 == y.0 && x.1 < y.1)
        }
        #expect(ids == expected.map { $0.1 })
        #expect(codes.count == 10 && (0..<10).allSatisfy { Array(codes.code($0)) == expected[$0].0 })
    }

    @Test func removingMostRowsCompactsAutomatically() throws {
        var index = try FlatIndex(codes: TestCodes.random(bits: 64, count: 100, seed: 4))
        #expect(index.remove(ids: Array(0..<40)) == 40)
        #expect(index.storedCount == 100)
        #expect(index.remove(ids: Array(40..<60)) == 20)
        #expect(index.storedCount == 40 && index.removedCount == 0 && index.count == 40)
        let (_, ids) = try index.items()
        #expect(Set(ids) == Set(60..<100) && ids.count == 40)
    }

    /// Rows stay in code order through every mutation (adds in any order, removals, compaction, automatic
    /// compaction), so multi-index hashing reads table 0 in place, and its answers stay those of the flat scan.
    @Test func rowsStayInCodeOrderThroughMutations() throws {
        var rng = SeededGenerator(seed: 51)
        for bits in [64, 20, 130] {
            var index = try FlatIndex(bits: bits)
            var live: [UInt64: [UInt8]] = [:]
            var nextID: UInt64 = 1000
            let queries = TestCodes.clustered(bits: bits, count: 5, centres: 3, flip: 0.1, seed: 52)
            for step in 0..<12 {
                if step % 3 == 2 && !live.isEmpty {
                    let all = live.keys.sorted()
                    let gone = Array(all[Int(rng.next() % UInt64(all.count))...].prefix(40))
                    #expect(index.remove(ids: gone) == gone.count)
                    for id in gone { live[id] = nil }
                } else {
                    let n = Int(rng.next() % 90) + 1
                    // Clustered codes with duplicates, ids in descending order: nothing arrives sorted.
                    let batch = TestCodes.clustered(bits: bits, count: n, centres: 3, flip: 0.1, seed: 60 + UInt64(step))
                    let ids = (0..<n).map { nextID + UInt64(n - 1 - $0) }
                    nextID += UInt64(n)
                    try index.add(batch, ids: ids)
                    for (i, id) in ids.enumerated() { live[id] = Array(batch.code(i)) }
                }
                #expect(index.rows.isSorted)
                let (codes, ids) = try index.items()
                let expected = live.map { ($0.value, $0.key) }.sorted { (x: ([UInt8], UInt64), y: ([UInt8], UInt64)) in
                    x.0.lexicographicallyPrecedes(y.0) || (x.0 == y.0 && x.1 < y.1)
                }
                #expect(ids == expected.map { $0.1 }, "K=\(bits) step \(step)")
                #expect((0..<codes.count).allSatisfy { Array(codes.code($0)) == expected[$0].0 })
                var mih = try MultiIndexHashing(index)
                mih.probeBudget = Int.max
                #expect(mih.readsFirstTableInPlace)
                #expect(try mih.search(queries, k: 17, threads: 1) == index.search(queries, k: 17, threads: 1))
                #expect(try mih.search(queries, radius: bits / 6, threads: 1) == index.search(queries, radius: bits / 6, threads: 1))
            }
        }
    }
}
