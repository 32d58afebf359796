import BihashCore
@testable import BihashIndex

/// Seeded code sets and the brute-force reference the index tests compare against.
enum TestCodes {
    /// n codes with independent fair bits (padding bits zero).
    static func random(bits: Int, count: Int, seed: UInt64) -> PackedCodes {
        var rng = SeededGenerator(seed: seed)
        let bpc = (bits + 7) / 8
        var bytes = [UInt8](repeating: 0, count: count * bpc)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
        clearPadding(&bytes, bits: bits, count: count)
        return try! PackedCodes(bits: bits, count: count, bytes: bytes)
    }

    /// n codes around `centres` random centres, each bit flipped with probability `flip`; a few rows are exact
    /// copies of others so that distance ties (and the id tie-break) are exercised.
    static func clustered(bits: Int, count: Int, centres: Int, flip: Double, seed: UInt64) -> PackedCodes {
        var rng = SeededGenerator(seed: seed)
        let c = random(bits: bits, count: centres, seed: seed ^ 0x5EED)
        let bpc = (bits + 7) / 8
        var bytes = [UInt8](repeating: 0, count: count * bpc)
        for i in 0..<count {
            if i > 0 && rng.nextUniform() < 0.05 {
                let j = Int(rng.next() % UInt64(i))
                for b in 0..<bpc { bytes[i * bpc + b] = bytes[j * bpc + b] }
                continue
            }
            let centre = Int(rng.next() % UInt64(centres))
            for b in 0..<bpc { bytes[i * bpc + b] = c.bytes[centre * bpc + b] }
            for k in 0..<bits where rng.nextUniform() < flip { bytes[i * bpc + k / 8] ^= UInt8(0x80) >> UInt8(k % 8) }
        }
        clearPadding(&bytes, bits: bits, count: count)
        return try! PackedCodes(bits: bits, count: count, bytes: bytes)
    }

    static func clearPadding(_ bytes: inout [UInt8], bits: Int, count: Int) {
        let bpc = (bits + 7) / 8
        let mask = PackedCodes.paddingMask(bits: bits)
        for i in 0..<count { bytes[i * bpc + bpc - 1] &= ~mask }
    }

    /// Distinct pseudo-random ids (so that the id order differs from the row order).
    static func ids(_ count: Int, seed: UInt64) -> [UInt64] {
        var rng = SeededGenerator(seed: seed)
        var seen = Set<UInt64>()
        var out: [UInt64] = []
        while out.count < count {
            let id = rng.next() % 1_000_000_007
            if seen.insert(id).inserted { out.append(id) }
        }
        return out
    }

    /// Every (id, distance) of the live rows, sorted by (distance, id): the reference answer.
    static func ranking(_ db: PackedCodes, ids: [UInt64], live: Set<UInt64>? = nil,
                        query queries: PackedCodes, _ q: Int) -> [Neighbor] {
        var all: [Neighbor] = []
        for i in 0..<db.count where live?.contains(ids[i]) ?? true {
            all.append(Neighbor(id: ids[i], distance: db.hammingDistance(i, to: queries, q)))
        }
        return all.sorted { ($0.distance, $0.id) < ($1.distance, $1.id) }
    }

    /// Queries: some database rows (distance-0 hits and ties) and some fresh codes of the same kind.
    static func queries(from db: PackedCodes, fresh: PackedCodes, count: Int) -> PackedCodes {
        var idx: [Int] = []
        for i in 0..<count { idx.append(i % 2 == 0 ? (i * 7919) % db.count : -1 - i) }
        var bytes: [UInt8] = []
        for (j, i) in idx.enumerated() {
            if i >= 0 { bytes.append(contentsOf: db.code(i)) } else { bytes.append(contentsOf: fresh.code(j % fresh.count)) }
        }
        return try! PackedCodes(bits: db.bits, count: count, bytes: bytes)
    }

    /// A fresh temporary path.
    static func tempPath(_ name: String) -> String {
        let dir = FileManagerShim.temporaryDirectory
        return "\(dir)/bihash-index-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
    }
}

import Foundation
enum FileManagerShim {
    static var temporaryDirectory: String { NSTemporaryDirectory().hasSuffix("/") ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory() }
}
