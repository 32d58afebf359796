import BihashCore
import Foundation

/// The rows of an index: codes, ids and tombstones, held in memory or mapped from an index file.
///
/// Rows are kept in code order: by code, compared as byte strings (with MSB-first bits this is the numeric order
/// of the codes, so the rows are also sorted by every prefix of the codes), then by id. `MultiIndexHashing` relies
/// on it: the items sharing the first substring of their codes are then one contiguous range of rows, read in
/// place instead of through a table. Every mutation keeps that order (`append` merges, `compact` and removal keep
/// it); only a mapped file written before rows were ordered can be out of order (`isSorted` false, checked when it
/// is opened), and the first `append` or `compact` sorts it.
///
/// Value semantics: the arrays are copy-on-write and the mapping is an immutable shared object, so copying a
/// `RowStore` (as `MultiIndexHashing` does to take a snapshot) copies nothing until one side mutates.
struct RowStore: Sendable {
    /// K.
    let bits: Int
    /// ⌈K/8⌉.
    let bytesPerCode: Int
    /// Stored rows, live and removed.
    private(set) var count: Int = 0
    /// Rows marked removed and not yet compacted away.
    private(set) var deletedCount: Int = 0
    /// Whether the stored rows (removed ones included) are in code order (see the type's documentation).
    private(set) var isSorted = true

    private var ownedCodes: [UInt8] = []
    private var ownedIDs: [UInt64] = []
    /// When set, codes and ids are read from the mapping (the owned arrays are empty).
    private var mapped: (file: MappedFile, codesOffset: Int, idsOffset: Int)?
    /// One bit per row, set when removed; empty while nothing is removed.
    private var tombstones: [UInt64] = []

    init(bits: Int) {
        self.bits = bits
        self.bytesPerCode = (bits + 7) / 8
    }

    /// Rows read in place from a mapped index file (already validated by `IndexFile`); their order is checked.
    init(bits: Int, count: Int, file: MappedFile, codesOffset: Int, idsOffset: Int) {
        self.init(bits: bits)
        self.count = count
        self.mapped = (file, codesOffset, idsOffset)
        isSorted = withRows { codes, ids, _ in
            RowStore.inCodeOrder(codes, ids, count: count, bytesPerCode: bytesPerCode)
        }
    }

    var liveCount: Int { count - deletedCount }
    var isMapped: Bool { mapped != nil }

    /// Calls `body` with the codes (count × bytesPerCode bytes), the ids (count) and the tombstone bitmap
    /// (nil when no row is removed).
    @inline(__always)
    func withRows<R>(_ body: (UnsafeRawPointer, UnsafePointer<UInt64>, UnsafePointer<UInt64>?) throws -> R) rethrows -> R {
        if let m = mapped {
            let codes = m.file.base + m.codesOffset
            let ids = (m.file.base + m.idsOffset).assumingMemoryBound(to: UInt64.self)
            return try withTombstones { try body(codes, ids, $0) }
        }
        return try ownedCodes.withUnsafeBytes { c in
            try ownedIDs.withUnsafeBufferPointer { i in
                try withTombstones { t in
                    // Empty arrays may have no base address; any non-null pointer will do (never dereferenced).
                    try body(c.baseAddress ?? UnsafeRawPointer(bitPattern: 0x10)!,
                             i.baseAddress ?? UnsafePointer(bitPattern: 0x10)!, t)
                }
            }
        }
    }

    @inline(__always)
    private func withTombstones<R>(_ body: (UnsafePointer<UInt64>?) throws -> R) rethrows -> R {
        if deletedCount == 0 { return try body(nil) }
        return try tombstones.withUnsafeBufferPointer { try body($0.baseAddress) }
    }

    /// Whether row `i` is removed, given the bitmap from `withRows`.
    @inline(__always)
    static func isDeleted(_ tombstones: UnsafePointer<UInt64>?, _ i: Int) -> Bool {
        guard let t = tombstones else { return false }
        return t[i >> 6] & (1 << UInt64(i & 63)) != 0
    }

    /// Copies mapped rows into owned arrays so they can change.
    private mutating func materialize() {
        guard let m = mapped else { return }
        let codeBytes = count * bytesPerCode
        ownedCodes = Array(UnsafeRawBufferPointer(start: m.file.base + m.codesOffset, count: codeBytes))
        ownedIDs = [UInt64](unsafeUninitializedCapacity: count) { buf, n in
            for i in 0..<count {
                buf[i] = UInt64(littleEndian: (m.file.base + m.idsOffset).loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
            }
            n = count
        }
        mapped = nil
    }

    /// Adds rows, merged into code order (removed rows are dropped first, as by `compact`); the caller has
    /// validated widths and id uniqueness. O(N + n log n).
    mutating func append(codes: PackedCodes, ids: [UInt64]) {
        compact()  // no removed rows, rows in code order, owned
        materialize()
        let bpc = bytesPerCode
        let n = ids.count
        let newCodes = codes.bytes
        let newOrder = newCodes.withUnsafeBytes { RowStore.codeOrder($0.baseAddress!, ids, count: n, bytesPerCode: bpc) }
        var mergedCodes = [UInt8](repeating: 0, count: (count + n) * bpc)
        var mergedIDs = [UInt64](repeating: 0, count: count + n)
        ownedCodes.withUnsafeBytes { oldC in
            newCodes.withUnsafeBytes { newC in
                mergedCodes.withUnsafeMutableBytes { outC in
                    mergedIDs.withUnsafeMutableBufferPointer { outI in
                        // Two sorted runs (the stored rows, the batch in `newOrder`) merged; ties cannot happen
                        // (ids are distinct), so the result is the one code order.
                        var i = 0, j = 0, o = 0
                        while i < count || j < n {
                            let takeOld: Bool
                            if j == n { takeOld = true } else if i == count { takeOld = false } else {
                                let r = newOrder[j]
                                takeOld = RowStore.precedes(oldC.baseAddress! + i * bpc, ownedIDs[i],
                                                            newC.baseAddress! + r * bpc, ids[r], bytesPerCode: bpc)
                            }
                            let (src, id): (UnsafeRawPointer, UInt64)
                            if takeOld { src = oldC.baseAddress! + i * bpc; id = ownedIDs[i]; i += 1 }
                            else { src = newC.baseAddress! + newOrder[j] * bpc; id = ids[newOrder[j]]; j += 1 }
                            (outC.baseAddress! + o * bpc).copyMemory(from: src, byteCount: bpc)
                            outI[o] = id
                            o += 1
                        }
                    }
                }
            }
        }
        ownedCodes = mergedCodes
        ownedIDs = mergedIDs
        count += n
    }

    /// Whether (code a, id a) comes before (code b, id b) in code order.
    @inline(__always)
    static func precedes(_ a: UnsafeRawPointer, _ idA: UInt64, _ b: UnsafeRawPointer, _ idB: UInt64,
                         bytesPerCode: Int) -> Bool {
        let c = memcmp(a, b, bytesPerCode)
        return c != 0 ? c < 0 : idA < idB
    }

    /// The positions 0..<count of the given rows, in code order.
    static func codeOrder(_ codes: UnsafeRawPointer, _ ids: UnsafePointer<UInt64>, count: Int,
                          bytesPerCode bpc: Int) -> [Int] {
        var order = Array(0..<count)
        order.sort { precedes(codes + $0 * bpc, ids[$0], codes + $1 * bpc, ids[$1], bytesPerCode: bpc) }
        return order
    }

    static func codeOrder(_ codes: UnsafeRawPointer, _ ids: [UInt64], count: Int, bytesPerCode bpc: Int) -> [Int] {
        if count == 0 { return [] }
        return ids.withUnsafeBufferPointer { codeOrder(codes, $0.baseAddress!, count: count, bytesPerCode: bpc) }
    }

    /// Whether the rows are in code order.
    static func inCodeOrder(_ codes: UnsafeRawPointer, _ ids: UnsafePointer<UInt64>, count: Int,
                            bytesPerCode bpc: Int) -> Bool {
        if count < 2 { return true }
        for i in 1..<count where !precedes(codes + (i - 1) * bpc, ids[i - 1], codes + i * bpc, ids[i], bytesPerCode: bpc) {
            return false
        }
        return true
    }

    /// Marks the live rows whose id is in `ids` as removed; returns how many were.
    mutating func markDeleted(ids: Set<UInt64>) -> Int {
        var hits: [Int] = []
        withRows { _, rowIDs, t in
            for i in 0..<count where ids.contains(rowIDs[i]) && !RowStore.isDeleted(t, i) { hits.append(i) }
        }
        if hits.isEmpty { return 0 }
        if tombstones.isEmpty { tombstones = [UInt64](repeating: 0, count: (count + 63) / 64) }
        for i in hits { tombstones[i >> 6] |= 1 << UInt64(i & 63) }
        deletedCount += hits.count
        return hits.count
    }

    /// Drops removed rows, keeping the others in order, and sorts rows that are not in code order (a mapped file
    /// written before rows were ordered). Does nothing (keeps a mapping) when there is nothing to do.
    mutating func compact() {
        guard deletedCount > 0 || !isSorted else { return }
        let bpc = bytesPerCode
        var codes = [UInt8]()
        var newIDs = [UInt64]()
        codes.reserveCapacity(liveCount * bpc)
        newIDs.reserveCapacity(liveCount)
        withRows { c, ids, t in
            let order = isSorted ? Array(0..<count) : RowStore.codeOrder(c, ids, count: count, bytesPerCode: bpc)
            for i in order where !RowStore.isDeleted(t, i) {
                codes.append(contentsOf: UnsafeRawBufferPointer(start: c + i * bpc, count: bpc))
                newIDs.append(ids[i])
            }
        }
        ownedCodes = codes
        ownedIDs = newIDs
        mapped = nil
        count = newIDs.count
        deletedCount = 0
        tombstones = []
        isSorted = true
    }

    /// Whether a live row has an id in `ids`; returns the first such id.
    func firstLiveID(in ids: Set<UInt64>) -> UInt64? {
        withRows { _, rowIDs, t in
            for i in 0..<count where ids.contains(rowIDs[i]) && !RowStore.isDeleted(t, i) { return rowIDs[i] }
            return nil
        }
    }
}
