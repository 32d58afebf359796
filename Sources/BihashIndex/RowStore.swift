import BihashCore

/// The rows of an index: codes, ids and tombstones, held in memory or mapped from an index file.
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

    /// Rows read in place from a mapped index file (already validated by `IndexFile`).
    init(bits: Int, count: Int, file: MappedFile, codesOffset: Int, idsOffset: Int) {
        self.init(bits: bits)
        self.count = count
        self.mapped = (file, codesOffset, idsOffset)
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

    /// Appends rows; the caller has validated widths and id uniqueness.
    mutating func append(codes: PackedCodes, ids: [UInt64]) {
        materialize()
        ownedCodes.append(contentsOf: codes.bytes)
        ownedIDs.append(contentsOf: ids)
        count += ids.count
        if !tombstones.isEmpty { tombstones.append(contentsOf: [UInt64](repeating: 0, count: (count + 63) / 64 - tombstones.count)) }
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

    /// Drops removed rows, keeping the others in order.
    mutating func compact() {
        guard deletedCount > 0 else { return }
        let bpc = bytesPerCode
        var codes = [UInt8]()
        var newIDs = [UInt64]()
        codes.reserveCapacity(liveCount * bpc)
        newIDs.reserveCapacity(liveCount)
        withRows { c, ids, t in
            for i in 0..<count where !RowStore.isDeleted(t, i) {
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
    }

    /// Whether a live row has an id in `ids`; returns the first such id.
    func firstLiveID(in ids: Set<UInt64>) -> UInt64? {
        withRows { _, rowIDs, t in
            for i in 0..<count where ids.contains(rowIDs[i]) && !RowStore.isDeleted(t, i) { return rowIDs[i] }
            return nil
        }
    }
}
