import BihashCore
import Foundation
import BihashEval

/// Seeded random fixtures for the metric tests.
enum EvalFixtures {
    /// `count` codes of `bits` bits. With `distinct` set, codes are drawn from a pool of that many random codes
    /// (heavy ties); otherwise each is random.
    static func codes(bits: Int, count: Int, distinct: Int? = nil, rng: inout SeededGenerator) throws -> PackedCodes {
        let bpc = (bits + 7) / 8
        let pad = PackedCodes.paddingMask(bits: bits)
        func random() -> [UInt8] {
            var c = (0..<bpc).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            c[bpc - 1] &= ~pad
            return c
        }
        var bytes = [UInt8]()
        if let distinct {
            let pool = (0..<distinct).map { _ in random() }
            for _ in 0..<count { bytes += pool[Int(rng.next() % UInt64(distinct))] }
        } else {
            for _ in 0..<count { bytes += random() }
        }
        return try PackedCodes(bits: bits, count: count, bytes: bytes)
    }

    static func labels(count: Int, classes: Int, rng: inout SeededGenerator) -> [Int] {
        (0..<count).map { _ in Int(rng.next() % UInt64(classes)) }
    }

    static func sets(count: Int, classes: Int, rng: inout SeededGenerator) -> [[Int]] {
        (0..<count).map { _ in
            let k = Int(rng.next() % 3)  // 0, 1 or 2 labels (empty sets are never relevant)
            return Array(Set((0..<k).map { _ in Int(rng.next() % UInt64(classes)) })).sorted()
        }
    }

    /// Packed codes as JSON: one array of byte values per code.
    static func json(_ codes: PackedCodes) -> [[Int]] {
        (0..<codes.count).map { codes.code($0).map(Int.init) }
    }
}
