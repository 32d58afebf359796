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
        let (codes, ids) = try index.items()
        #expect(ids == [0, 1, 2, 4, 5, 6, 7, 8, 9, 3])
        #expect(codes.count == 10 && Array(codes.code(9)) == Array(b.code(0)))
    }

    @Test func removingMostRowsCompactsAutomatically() throws {
        var index = try FlatIndex(codes: TestCodes.random(bits: 64, count: 100, seed: 4))
        #expect(index.remove(ids: Array(0..<40)) == 40)
        #expect(index.storedCount == 100)
        #expect(index.remove(ids: Array(40..<60)) == 20)
        #expect(index.storedCount == 40 && index.removedCount == 0 && index.count == 40)
        let (_, ids) = try index.items()
        #expect(ids == Array(60..<100))
    }
}
