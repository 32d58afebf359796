// bihash_index and bihash_results: building, searching, saving and opening indexes.

import CBihashABI
import BihashCore
import BihashIndex

/// A `FlatIndex` shared between threads: searches take the read lock, add/remove/compact the write lock, so
/// searches run concurrently with each other and see either the state before or after a write. A
/// `MultiIndexHashing` over the items is built lazily when the strategy wants it and rebuilt after writes.
final class IndexHandle: Handle {
    override class var typeName: String { "bihash_index" }
    private let lock = ReadWriteLock()
    private var index: FlatIndex
    /// Incremented by every write (under the write lock).
    private var generation = 0
    private let cacheLock = Mutex()
    private var mih: (generation: Int, value: MultiIndexHashing)?
    var strategy = Int32(BIHASH_SEARCH_AUTO)
    var threads = 0

    /// AUTO uses multi-index hashing from this many live items on (below it the flat scan is as fast).
    static let autoMIHMinimumCount = 100_000

    init(_ index: FlatIndex) {
        self.index = index
        bits = index.bits
    }

    /// K, fixed for the index's life. A copy, read without the lock: reading `index` itself while a write holds
    /// it is a data race (ThreadSanitizer caught searches checking their query width against `index.bits`).
    let bits: Int
    var count: Int { lock.reading { index.count } }  // never called with the lock held

    func write<R>(_ body: (inout FlatIndex) throws -> R) rethrows -> R {
        try lock.writing {
            generation &+= 1
            return try body(&index)
        }
    }

    func read<R>(_ body: (FlatIndex) throws -> R) rethrows -> R {
        try lock.reading { try body(index) }
    }

    /// Threads for one search call.
    private var searchThreads: Int { threads > 0 ? threads : Parallel.coreCount }

    /// The MIH structure for the current items, if the strategy asks for it (called under the read lock).
    private func multiIndex(for index: FlatIndex) throws -> MultiIndexHashing? {
        let wanted: Bool
        switch strategy {
        case Int32(BIHASH_SEARCH_FLAT): wanted = false
        case Int32(BIHASH_SEARCH_MIH): wanted = true
        default: wanted = index.count >= IndexHandle.autoMIHMinimumCount && index.bits >= 16
        }
        guard wanted, index.count > 0 else { return nil }
        return try cacheLock.locked {
            if let mih, mih.generation == generation { return mih.value }
            let built = try MultiIndexHashing(index, threads: searchThreads)
            mih = (generation, built)
            return built
        }
    }

    func search(_ queries: PackedCodes, k: Int) throws -> [[Neighbor]] {
        try lock.reading {
            if let m = try multiIndex(for: index) { return try m.search(queries, k: k, threads: searchThreads) }
            return try index.search(queries, k: k, threads: searchThreads)
        }
    }

    func search(_ queries: PackedCodes, radius: Int) throws -> [[Neighbor]] {
        try lock.reading {
            if let m = try multiIndex(for: index) { return try m.search(queries, radius: radius, threads: searchThreads) }
            return try index.search(queries, radius: radius, threads: searchThreads)
        }
    }
}

/// Radius-search results at fixed addresses: ids and distances of all queries, concatenated.
final class ResultsHandle: Handle {
    override class var typeName: String { "bihash_results" }
    let offsets: [Int]
    let ids: StableBuffer<UInt64>
    let distances: StableBuffer<UInt32>

    init(_ lists: [[Neighbor]]) {
        var offsets = [0]
        var ids: [UInt64] = [], distances: [UInt32] = []
        for list in lists {
            for n in list { ids.append(n.id); distances.append(UInt32(clamping: n.distance)) }
            offsets.append(ids.count)
        }
        self.offsets = offsets
        self.ids = StableBuffer(ids)
        self.distances = StableBuffer(distances)
    }

    var queries: Int { offsets.count - 1 }
    func range(_ q: Int) -> Range<Int>? { q >= 0 && q < queries ? offsets[q]..<offsets[q + 1] : nil }
}

/// The C entry point `bihash_index_new`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_new")
public func bihashV1_index_new(_ bits: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_index_new") {
        let out = try nonNull(out, "out")
        out.pointee = retainedHandle(IndexHandle(try FlatIndex(bits: try validBits(bits))))
    }
}

/// The C entry point `bihash_index_add`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_add")
public func bihashV1_index_add(_ index: OpaquePointer?, _ codes: UnsafePointer<UInt8>?, _ n: Int,
                               _ ids: UnsafePointer<UInt64>?) -> Int32 {
    guarded("bihash_index_add") {
        let x: IndexHandle = try object(index, "index")
        let packed = try packedCodes(codes, count: n, bits: x.bits, "codes")
        if n == 0 { return }
        let given = ids.map { Array(UnsafeBufferPointer(start: $0, count: n)) }
        try x.write { flat in
            let assigned = try given ?? (0..<n).map { i -> UInt64 in
                let (id, overflow) = UInt64(flat.count).addingReportingOverflow(UInt64(i))
                guard !overflow else { throw ABIError.invalidArgument("automatic ids overflow") }
                return id
            }
            try flat.add(packed, ids: assigned)
        }
    }
}

/// The C entry point `bihash_index_remove`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_remove")
public func bihashV1_index_remove(_ index: OpaquePointer?, _ ids: UnsafePointer<UInt64>?, _ n: Int,
                                  _ removed: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("bihash_index_remove") {
        let x: IndexHandle = try object(index, "index")
        _ = try product(n, 8, "n ids")
        let list = n == 0 ? [] : Array(UnsafeBufferPointer(start: try nonNull(ids, "ids"), count: n))
        let count = x.write { $0.remove(ids: list) }
        removed?.pointee = count
    }
}

/// The C entry point `bihash_index_compact`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_compact")
public func bihashV1_index_compact(_ index: OpaquePointer?) -> Int32 {
    guarded("bihash_index_compact") {
        let x: IndexHandle = try object(index, "index")
        x.write { $0.compact() }
    }
}

/// The C entry point `bihash_index_count`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_count")
public func bihashV1_index_count(_ index: OpaquePointer?) -> Int {
    optionalObject(index, as: IndexHandle.self)?.count ?? 0
}

/// The C entry point `bihash_index_bits`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_bits")
public func bihashV1_index_bits(_ index: OpaquePointer?) -> Int32 {
    optionalObject(index, as: IndexHandle.self).map { Int32($0.bits) } ?? 0
}

/// The C entry point `bihash_index_set_strategy`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_set_strategy")
public func bihashV1_index_set_strategy(_ index: OpaquePointer?, _ strategy: Int32) -> Int32 {
    guarded("bihash_index_set_strategy") {
        let x: IndexHandle = try object(index, "index")
        let known = [Int32(BIHASH_SEARCH_AUTO), Int32(BIHASH_SEARCH_FLAT), Int32(BIHASH_SEARCH_MIH)]
        guard known.contains(strategy) else {
            throw ABIError.invalidArgument("strategy must be BIHASH_SEARCH_AUTO (0), _FLAT (1) or _MIH (2), got \(strategy)")
        }
        x.write { _ in x.strategy = strategy }
    }
}

/// The C entry point `bihash_index_set_threads`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_set_threads")
public func bihashV1_index_set_threads(_ index: OpaquePointer?, _ threads: Int32) -> Int32 {
    guarded("bihash_index_set_threads") {
        let x: IndexHandle = try object(index, "index")
        guard threads >= 0, threads <= 4096 else {
            throw ABIError.invalidArgument("threads must be in 0...4096 (0 = all cores), got \(threads)")
        }
        x.write { _ in x.threads = Int(threads) }
    }
}

/// The C entry point `bihash_index_search`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_search")
public func bihashV1_index_search(_ index: OpaquePointer?, _ queries: UnsafePointer<UInt8>?, _ nq: Int, _ k: Int,
                                  _ ids: UnsafeMutablePointer<UInt64>?, _ distances: UnsafeMutablePointer<UInt32>?) -> Int32 {
    var cleared = 0
    let status = guarded("bihash_index_search") {
        let x: IndexHandle = try object(index, "index")
        guard k >= 1 else { throw ABIError.invalidArgument("k must be ≥ 1, got 0") }
        let total = try product(nq, k, "nq × k")
        _ = try product(total, 8, "nq × k ids")
        cleared = total
        let q = try packedCodes(queries, count: nq, bits: x.bits, "queries")
        if nq == 0 { return }
        let ids = try nonNull(ids, "ids")
        let lists = try x.search(q, k: k)
        for row in 0..<nq {
            let list = row < lists.count ? lists[row] : []
            for j in 0..<k {
                let at = row * k + j
                if j < list.count {
                    ids[at] = list[j].id
                    distances?[at] = UInt32(clamping: list[j].distance)
                } else {
                    ids[at] = UInt64.max
                    distances?[at] = UInt32.max
                }
            }
        }
        cleared = 0
    }
    // On failure, outputs that were validated are cleared to the "no neighbour" padding.
    if status != Status.ok, cleared > 0 {
        ids?.update(repeating: UInt64.max, count: cleared)
        distances?.update(repeating: UInt32.max, count: cleared)
    }
    return status
}

/// The C entry point `bihash_index_search_radius`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_search_radius")
public func bihashV1_index_search_radius(_ index: OpaquePointer?, _ queries: UnsafePointer<UInt8>?, _ nq: Int,
                                         _ radius: UInt32, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_index_search_radius") {
        let x: IndexHandle = try object(index, "index")
        let out = try nonNull(out, "out")
        let q = try packedCodes(queries, count: nq, bits: x.bits, "queries")
        let r = Int(Swift.min(radius, UInt32(x.bits)))
        let lists = nq == 0 ? [] : try x.search(q, radius: r)
        out.pointee = retainedHandle(ResultsHandle(lists))
    }
}

/// The C entry point `bihash_results_queries`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_results_queries")
public func bihashV1_results_queries(_ results: OpaquePointer?) -> Int {
    optionalObject(results, as: ResultsHandle.self)?.queries ?? 0
}

/// The C entry point `bihash_results_count`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_results_count")
public func bihashV1_results_count(_ results: OpaquePointer?, _ q: Int) -> Int {
    optionalObject(results, as: ResultsHandle.self)?.range(q)?.count ?? 0
}

/// The C entry point `bihash_results_ids`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_results_ids")
public func bihashV1_results_ids(_ results: OpaquePointer?, _ q: Int) -> UnsafePointer<UInt64>? {
    guard let r = optionalObject(results, as: ResultsHandle.self), let range = r.range(q) else { return nil }
    return UnsafePointer(r.ids.pointer + range.lowerBound)
}

/// The C entry point `bihash_results_distances`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_results_distances")
public func bihashV1_results_distances(_ results: OpaquePointer?, _ q: Int) -> UnsafePointer<UInt32>? {
    guard let r = optionalObject(results, as: ResultsHandle.self), let range = r.range(q) else { return nil }
    return UnsafePointer(r.distances.pointer + range.lowerBound)
}

/// The C entry point `bihash_results_free`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_results_free")
public func bihashV1_results_free(_ results: OpaquePointer?) {
    releaseHandle(results)
}

/// The C entry point `bihash_index_save`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_save")
public func bihashV1_index_save(_ index: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded("bihash_index_save") {
        let x: IndexHandle = try object(index, "index")
        let p = try string(path, "path")
        try x.read { try IndexFile.write($0, to: p) }
    }
}

/// The C entry point `bihash_index_open`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_open")
public func bihashV1_index_open(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_index_open") {
        let out = try nonNull(out, "out")
        out.pointee = retainedHandle(IndexHandle(try IndexFile.open(try string(path, "path"))))
    }
}

/// The C entry point `bihash_index_free`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_index_free")
public func bihashV1_index_free(_ index: OpaquePointer?) {
    releaseHandle(index)
}
