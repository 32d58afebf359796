import BihashCore

/// The exact scan shared by `FlatIndex` and the fallback path of `MultiIndexHashing`.
///
/// Queries are split into groups of 8; one thread handles whole groups, each group streams the database once
/// (`scanGroup`), and candidates go to per-query heaps ordered by (distance, id). Because every query is
/// answered by one thread from the whole database, results do not depend on the thread count.
enum FlatSearch {
    /// Candidate positions produced per scanned block (the block stays in L1 while its candidates are checked).
    static let blockSize = 512

    /// The k nearest live rows for each query in `queryIndices` (rows of `queries`), in (distance, id) order.
    static func nearest(rows: RowStore, queries: PackedCodes, queryIndices: [Int], k: Int, threads: Int) -> [[Neighbor]] {
        run(rows: rows, queries: queries, queryIndices: queryIndices, threads: threads, mode: .nearest(k))
    }

    /// Every live row within `radius` of each query in `queryIndices`, in (distance, id) order.
    static func within(rows: RowStore, queries: PackedCodes, queryIndices: [Int], radius: Int, threads: Int) -> [[Neighbor]] {
        run(rows: rows, queries: queries, queryIndices: queryIndices, threads: threads, mode: .within(radius))
    }

    enum Mode { case nearest(Int), within(Int) }

    private static func run(rows: RowStore, queries: PackedCodes, queryIndices: [Int], threads: Int, mode: Mode) -> [[Neighbor]] {
        let nq = queryIndices.count
        if nq == 0 { return [] }
        let bpc = rows.bytesPerCode
        let w = (bpc + 7) / 8
        let groups = (nq + queryGroupSize - 1) / queryGroupSize
        // All query words, zero-padded to whole groups (unused slots are masked by a limit of 0).
        var words = [UInt64](repeating: 0, count: groups * queryGroupSize * w)
        queries.bytes.withUnsafeBytes { qb in
            words.withUnsafeMutableBufferPointer { wb in
                for (slot, qi) in queryIndices.enumerated() {
                    loadQueryWords(qb.baseAddress! + qi * bpc, bytesPerCode: bpc, into: wb.baseAddress! + slot * w)
                }
            }
        }
        let output = UnsafeMutableBufferPointer<[Neighbor]>.allocate(capacity: nq)
        output.initialize(repeating: [])
        defer { _ = output.deinitialize(); output.deallocate() }  // release each query's result array, then the buffer
        rows.withRows { codes, ids, tombstones in
            words.withUnsafeBufferPointer { wb in
                let context = Context(codes: codes, ids: ids, tombstones: tombstones, count: rows.count, stride: bpc,
                                      words: wb.baseAddress!, wordCount: w, queryCount: nq, output: output.baseAddress!)
                Parallel.forEachChunk(count: groups, threads: threads) { _, groupRange in
                    switch bpc {
                    case 8: scan(Kernel64(), context, groupRange, mode)
                    case 16: scan(Kernel128(), context, groupRange, mode)
                    case 32: scan(Kernel256(), context, groupRange, mode)
                    default: scan(GeneralKernel(bytesPerCode: bpc), context, groupRange, mode)
                    }
                }
            }
        }
        return Array(output)
    }

    /// Pointers shared (read-only, except disjoint output slots) by the worker threads.
    struct Context {
        let codes: UnsafeRawPointer
        let ids: UnsafePointer<UInt64>
        let tombstones: UnsafePointer<UInt64>?
        let count: Int
        let stride: Int
        let words: UnsafePointer<UInt64>
        let wordCount: Int
        let queryCount: Int
        let output: UnsafeMutablePointer<[Neighbor]>
    }

    private static func scan<Kern: HammingKernel>(_ kern: Kern, _ c: Context, _ groupRange: Range<Int>, _ mode: Mode) {
        let g = queryGroupSize
        let flags = UnsafeMutablePointer<UInt8>.allocate(capacity: blockSize)
        let limits = UnsafeMutablePointer<Int>.allocate(capacity: g)
        defer { flags.deallocate(); limits.deallocate() }
        var heaps: [NeighborHeap] = []
        var lists: [[Neighbor]] = []
        var k = 0, radius = 0
        switch mode {
        case .nearest(let kk): k = kk; heaps = (0..<g).map { _ in NeighborHeap(k: kk) }
        case .within(let r): radius = r; lists = Array(repeating: [], count: g)
        }
        let isNearest = k > 0
        for group in groupRange {
            let first = group * g
            let active = Swift.min(g, c.queryCount - first)
            let q = c.words + first * c.wordCount
            for j in 0..<g {
                if j >= active { limits[j] = 0; continue }
                if isNearest { heaps[j].removeAll(); limits[j] = heaps[j].limit } else { lists[j].removeAll(); limits[j] = radius + 1 }
            }
            var start = 0
            while start < c.count {
                let end = Swift.min(c.count, start + blockSize)
                if kern.scanGroup8(codes: c.codes, stride: c.stride, range: start..<end, queries: q, limits: limits, flags: flags) {
                    var t = 0
                    let n = end - start
                    while t < n {
                        // Skip 8 clear flags at a time.
                        if t + 8 <= n && UnsafeRawPointer(flags + t).loadUnaligned(as: UInt64.self) == 0 { t += 8; continue }
                        if flags[t] == 0 { t += 1; continue }
                        let i = start + t
                        t += 1
                        if RowStore.isDeleted(c.tombstones, i) { continue }
                        let x = c.codes + i * c.stride
                        let id = c.ids[i]
                        for j in 0..<active {
                            let d = kern.distance(q + j * c.wordCount, x)
                            if d >= limits[j] { continue }
                            if isNearest {
                                heaps[j].offer(distance: d, id: id)
                                limits[j] = heaps[j].limit
                            } else {
                                lists[j].append(Neighbor(id: id, distance: d))
                            }
                        }
                    }
                }
                start = end
            }
            for j in 0..<active {
                c.output[first + j] = isNearest ? heaps[j].sorted() : lists[j].sorted()
            }
        }
    }
}
