import BihashCore

/// What `RetrievalEvaluator.evaluate` computes besides mAP@All (always computed).
public struct EvaluationOptions: Sendable, Equatable {
    /// Cut-offs R of mAP@R (e.g. 1000 for mAP@1000). R larger than the database means the whole ranking.
    public var mapCutoffs: [Int]
    /// List lengths N of precision@N. N larger than the database is clamped to the database size.
    public var precisionCutoffs: [Int]
    /// Hamming radii r of "precision within radius r" (0 ≤ r ≤ K).
    public var radii: [Int]
    /// Whether to compute the pooled precision-recall curve over radii 0…K.
    public var includePRCurve: Bool
    /// Worker threads (queries are split into this many contiguous chunks). Results do not depend on it.
    public var threads: Int

    /// Defaults: mAP@1000, P@100 and P@1000, precision within radius 2, the PR curve, all cores.
    public init(mapCutoffs: [Int] = [1000], precisionCutoffs: [Int] = [100, 1000], radii: [Int] = [2],
                includePRCurve: Bool = true, threads: Int = Parallel.coreCount) {
        self.mapCutoffs = mapCutoffs
        self.precisionCutoffs = precisionCutoffs
        self.radii = radii
        self.includePRCurve = includePRCurve
        self.threads = threads
    }
}

/// Per-query values behind a `RetrievalReport` (each array has one entry per query).
public struct PerQueryMetrics: Sendable, Equatable {
    /// AP over the whole ranking (0 for a query with no relevant item).
    public var averagePrecisionAll: [Double]
    /// AP@R for each of `EvaluationOptions.mapCutoffs`, in that order.
    public var averagePrecisionAt: [[Double]]
    /// Precision@N for each of `EvaluationOptions.precisionCutoffs`, in that order.
    public var precisionAt: [[Double]]
    /// Precision within each of `EvaluationOptions.radii` (0 when nothing lies within the radius).
    public var precisionWithinRadius: [[Double]]
    /// Number of relevant database items per query.
    public var relevantCount: [Int]
}

/// Retrieval metrics over packed binary codes: rank the database by Hamming distance to each query, ties broken by
/// database index (a stable order), and score the ranking against the labels.
///
/// Conventions (ALGORITHMS.md 1.5 and §4 item 8; cross-checked by `tools/reference/eval_metrics.py`):
/// - **Ranking**: ascending Hamming distance; equal distances keep database order (`np.argsort(kind="stable")`).
///   Computed per query in O(N + K) by counting sort over the distances 0…K, never a full sort.
/// - **AP@R** = Σ_{k≤R} P@k·rel_k / (number of relevant items in the top R); a query with no relevant item in the
///   top R scores 0 and stays in the mean. mAP@All is AP@N (N = database size). R > N means R = N.
/// - **P@N** = (relevant items in the top N) / N, averaged over all queries; N > database size is clamped to it.
/// - **Precision within radius r** = (relevant items at distance ≤ r) / (items at distance ≤ r) per query, 0 when no
///   item is within r (BH `cal_map.py` instead reads the precision just before the first item beyond r, which for an
///   empty ball is the precision of the whole ranking — a quirk not reproduced), averaged over all queries.
/// - **PR curve** by radius r = 0…K, pooled over all query–item pairs as BH `calculate_p_r_curve`:
///   P(r) = relevant pairs within r / pairs within r (0 if none), R(r) = relevant pairs within r / all relevant pairs
///   (0 if there are none).
///
/// Queries are processed in parallel with `Parallel.forEachChunk`; every value is computed per query and the means
/// are summed in query order, so results are identical for any thread count.
///
/// ```swift
/// let report = try RetrievalEvaluator.evaluate(
///     queries: queryCodes, queryLabels: RetrievalLabels(queryLabels),
///     database: dbCodes, databaseLabels: RetrievalLabels(dbLabels))
/// print(report.table(title: "bi-half, 16 bits"))
/// ```
public enum RetrievalEvaluator {
    /// Computes mAP@All and everything `options` asks for.
    /// - Throws: `BihashError.invalidArgument` if the code widths differ, a label count differs from its code count,
    ///   a set of codes is empty, the label kinds differ (single vs multi), or an option is out of range.
    public static func evaluate(queries: PackedCodes, queryLabels: RetrievalLabels,
                                database: PackedCodes, databaseLabels: RetrievalLabels,
                                options: EvaluationOptions = EvaluationOptions()) throws -> RetrievalReport {
        let (perQuery, pr) = try compute(queries: queries, queryLabels: queryLabels, database: database,
                                         databaseLabels: databaseLabels, options: options)
        func mean(_ xs: [Double]) -> Double {
            var s = 0.0
            for x in xs { s += x }
            return xs.isEmpty ? 0 : s / Double(xs.count)
        }
        let n = database.count
        var prCurve: RetrievalReport.PRCurve?
        if let pr {
            var precision = [Double](), recall = [Double]()
            for r in 0...queries.bits {
                precision.append(pr.retrieved[r] == 0 ? 0 : Double(pr.good[r]) / Double(pr.retrieved[r]))
                recall.append(pr.totalGood == 0 ? 0 : Double(pr.good[r]) / Double(pr.totalGood))
            }
            prCurve = RetrievalReport.PRCurve(radius: Array(0...queries.bits), precision: precision, recall: recall)
        }
        return RetrievalReport(
            bits: queries.bits, queryCount: queries.count, databaseCount: n,
            queriesWithoutRelevant: perQuery.relevantCount.filter { $0 == 0 }.count,
            mapAll: mean(perQuery.averagePrecisionAll),
            mapAt: zip(options.mapCutoffs, perQuery.averagePrecisionAt).map { .init(at: $0, value: mean($1)) },
            precisionAt: zip(options.precisionCutoffs, perQuery.precisionAt).map { .init(at: $0, value: mean($1)) },
            precisionWithinRadius: zip(options.radii, perQuery.precisionWithinRadius).map { .init(at: $0, value: mean($1)) },
            prCurve: prCurve)
    }

    /// mAP@R (`cutoff`), or mAP@All when `cutoff` is nil.
    /// - Throws: as `evaluate`.
    public static func meanAveragePrecision(queries: PackedCodes, queryLabels: RetrievalLabels,
                                            database: PackedCodes, databaseLabels: RetrievalLabels,
                                            cutoff: Int? = nil, threads: Int = Parallel.coreCount) throws -> Double {
        let options = EvaluationOptions(mapCutoffs: cutoff.map { [$0] } ?? [], precisionCutoffs: [], radii: [],
                                        includePRCurve: false, threads: threads)
        let report = try evaluate(queries: queries, queryLabels: queryLabels, database: database,
                                  databaseLabels: databaseLabels, options: options)
        return cutoff == nil ? report.mapAll : report.mapAt[0].value
    }

    /// The per-query values behind `evaluate` (the PR curve, being pooled, is left out).
    /// - Throws: as `evaluate`.
    public static func perQueryMetrics(queries: PackedCodes, queryLabels: RetrievalLabels,
                                       database: PackedCodes, databaseLabels: RetrievalLabels,
                                       options: EvaluationOptions = EvaluationOptions()) throws -> PerQueryMetrics {
        var o = options
        o.includePRCurve = false
        return try compute(queries: queries, queryLabels: queryLabels, database: database,
                           databaseLabels: databaseLabels, options: o).0
    }

    /// The database indices in ranking order for query `index`: ascending Hamming distance, ties by database index.
    /// - Throws: `BihashError.invalidArgument` for differing code widths or an index out of range.
    public static func ranking(query index: Int, of queries: PackedCodes, in database: PackedCodes) throws -> [Int] {
        try require(queries.bits == database.bits, "query codes have \(queries.bits) bits, database codes \(database.bits)")
        try require((0..<queries.count).contains(index), "query index \(index) is outside 0..<\(queries.count)")
        let k = queries.bits
        let q = CodeWords(queries), db = CodeWords(database)
        var dist = [Int](repeating: 0, count: database.count)
        var start = [Int](repeating: 0, count: k + 2)
        for j in 0..<database.count {
            var d = 0
            for w in 0..<q.wordsPerCode { d += (q.words[index * q.wordsPerCode + w] ^ db.words[j * db.wordsPerCode + w]).nonzeroBitCount }
            dist[j] = d
            start[d + 1] += 1
        }
        for d in 0..<(k + 1) { start[d + 1] += start[d] }
        var order = [Int](repeating: 0, count: database.count)
        for j in 0..<database.count {
            order[start[dist[j]]] = j
            start[dist[j]] += 1
        }
        return order
    }

    // MARK: - Implementation

    struct PooledPR {
        var retrieved: [Int]   // pairs within radius r, r = 0…K (cumulative)
        var good: [Int]        // relevant pairs within radius r (cumulative)
        var totalGood: Int
    }

    static func validate(queries: PackedCodes, queryLabels: RetrievalLabels, database: PackedCodes,
                         databaseLabels: RetrievalLabels, options: EvaluationOptions) throws {
        try require(queries.bits == database.bits,
                    "query codes have \(queries.bits) bits but database codes have \(database.bits)")
        try require(queries.count > 0, "no query codes: the query set is empty")
        try require(database.count > 0, "no database codes: the database is empty")
        try require(queryLabels.count == queries.count,
                    "expected one query label per query code (\(queries.count)), got \(queryLabels.count)")
        try require(databaseLabels.count == database.count,
                    "expected one database label per database code (\(database.count)), got \(databaseLabels.count)")
        try require(queryLabels.isMultiLabel == databaseLabels.isMultiLabel,
                    "query labels are \(queryLabels.isMultiLabel ? "multi" : "single")-label but database labels are \(databaseLabels.isMultiLabel ? "multi" : "single")-label")
        try require(database.count < Int(Int32.max), "database of \(database.count) codes exceeds the limit of \(Int32.max)")
        for r in options.mapCutoffs { try require(r >= 1, "mAP cut-off R must be ≥ 1, got \(r)") }
        for n in options.precisionCutoffs { try require(n >= 1, "precision cut-off N must be ≥ 1, got \(n)") }
        for r in options.radii { try require((0...queries.bits).contains(r), "Hamming radius must be in 0...\(queries.bits), got \(r)") }
        try require(options.threads >= 1, "threads must be ≥ 1, got \(options.threads)")
    }

    static func compute(queries: PackedCodes, queryLabels: RetrievalLabels, database: PackedCodes,
                        databaseLabels: RetrievalLabels, options: EvaluationOptions) throws -> (PerQueryMetrics, PooledPR?) {
        try validate(queries: queries, queryLabels: queryLabels, database: database,
                     databaseLabels: databaseLabels, options: options)
        let nq = queries.count, n = database.count, k = queries.bits
        let qCodes = CodeWords(queries), dbCodes = CodeWords(database)
        let relevance = RelevanceTable(queries: queryLabels, database: databaseLabels)
        let mapCut = options.mapCutoffs.map { Swift.min($0, n) }
        let precCut = options.precisionCutoffs.map { Swift.min($0, n) }
        let radii = options.radii
        let withPR = options.includePRCurve

        var apAll = [Double](repeating: 0, count: nq)
        var apAt = [Double](repeating: 0, count: nq * mapCut.count)
        var pAt = [Double](repeating: 0, count: nq * precCut.count)
        var pRad = [Double](repeating: 0, count: nq * radii.count)
        var relCount = [Int](repeating: 0, count: nq)
        let threads = Swift.min(options.threads, nq)
        // Per chunk: non-cumulative pair counts per distance, then relevant-pair counts per distance.
        var prChunks = [[Int]](repeating: [], count: threads)

        apAll.withUnsafeMutableBufferPointer { apAllP in
        apAt.withUnsafeMutableBufferPointer { apAtP in
        pAt.withUnsafeMutableBufferPointer { pAtP in
        pRad.withUnsafeMutableBufferPointer { pRadP in
        relCount.withUnsafeMutableBufferPointer { relP in
        prChunks.withUnsafeMutableBufferPointer { prP in
            Parallel.forEachChunk(count: nq, threads: threads) { chunk, range in
                var scratch = QueryScratch(n: n, bits: k)
                var prCounts = [Int](repeating: 0, count: withPR ? 2 * (k + 1) : 0)
                var apR = [Double](repeating: 0, count: mapCut.count)
                var hitsR = [Int](repeating: 0, count: mapCut.count)
                var hitsN = [Int](repeating: 0, count: precCut.count)
                for qi in range {
                    scratch.rank(query: qi, queries: qCodes, database: dbCodes, relevance: relevance)
                    let total = scratch.totalRelevant
                    relP[qi] = total
                    if withPR {
                        for d in 0...k {
                            prCounts[d] += scratch.bucketCount(d)
                            prCounts[k + 1 + d] += scratch.bucketRelevant(d)
                        }
                    }
                    // Precision within radius r.
                    for (ri, r) in radii.enumerated() {
                        var retrieved = 0, good = 0
                        for d in 0...r { retrieved += scratch.bucketCount(d); good += scratch.bucketRelevant(d) }
                        pRadP[qi * radii.count + ri] = retrieved == 0 ? 0 : Double(good) / Double(retrieved)
                    }
                    for c in 0..<apR.count { apR[c] = 0; hitsR[c] = 0 }
                    for c in 0..<hitsN.count { hitsN[c] = 0 }
                    var all = 0.0
                    if total > 0 {
                        scratch.forEachRelevant { position, hit in
                            let contribution = Double(hit) / Double(position)
                            all += contribution
                            for c in 0..<mapCut.count where position <= mapCut[c] {
                                apR[c] += contribution
                                hitsR[c] += 1
                            }
                            for c in 0..<precCut.count where position <= precCut[c] { hitsN[c] += 1 }
                        }
                        all /= Double(total)
                    }
                    apAllP[qi] = all
                    for c in 0..<mapCut.count {
                        apAtP[qi * mapCut.count + c] = hitsR[c] == 0 ? 0 : apR[c] / Double(hitsR[c])
                    }
                    for c in 0..<precCut.count {
                        pAtP[qi * precCut.count + c] = Double(hitsN[c]) / Double(precCut[c])
                    }
                }
                prP[chunk] = prCounts
            }
        }}}}}}

        func split(_ flat: [Double], _ m: Int) -> [[Double]] {
            (0..<m).map { c in (0..<nq).map { flat[$0 * m + c] } }
        }
        let perQuery = PerQueryMetrics(averagePrecisionAll: apAll, averagePrecisionAt: split(apAt, mapCut.count),
                                       precisionAt: split(pAt, precCut.count),
                                       precisionWithinRadius: split(pRad, radii.count), relevantCount: relCount)
        guard withPR else { return (perQuery, nil) }
        var counts = [Int](repeating: 0, count: 2 * (k + 1))
        for chunk in prChunks where !chunk.isEmpty { for i in 0..<counts.count { counts[i] += chunk[i] } }
        var retrieved = [Int](repeating: 0, count: k + 1), good = [Int](repeating: 0, count: k + 1)
        var accR = 0, accG = 0
        for d in 0...k {
            accR += counts[d]; accG += counts[k + 1 + d]
            retrieved[d] = accR; good[d] = accG
        }
        return (perQuery, PooledPR(retrieved: retrieved, good: good, totalGood: accG))
    }
}

/// Codes as little-endian 64-bit words, ⌈bytesPerCode/8⌉ per code, zero-padded (XOR + popcount = Hamming distance).
struct CodeWords {
    let words: [UInt64]
    let wordsPerCode: Int
    let count: Int

    init(_ codes: PackedCodes) {
        let bpc = codes.bytesPerCode
        let w = (bpc + 7) / 8
        var words = [UInt64](repeating: 0, count: codes.count * w)
        codes.bytes.withUnsafeBufferPointer { src in
            for i in 0..<codes.count {
                for b in 0..<bpc {
                    words[i * w + b / 8] |= UInt64(src[i * bpc + b]) << UInt64(8 * (b % 8))
                }
            }
        }
        self.words = words
        self.wordsPerCode = w
        self.count = codes.count
    }
}

/// Labels in the form the inner loop wants: dense Int32 class ids (single-label) or bit sets (multi-label).
struct RelevanceTable {
    enum Kind {
        case single(query: [Int32], database: [Int32])
        case multi(query: [UInt64], queryWords: Int, database: [UInt64], databaseWords: Int)
    }
    let kind: Kind

    init(queries: RetrievalLabels, database: RetrievalLabels) {
        switch (queries.storage, database.storage) {
        case (.single(let q), .single(let d)):
            var ids = [Int: Int32]()
            func id(_ label: Int) -> Int32 {
                if let v = ids[label] { return v }
                let v = Int32(ids.count)
                ids[label] = v
                return v
            }
            let dIds = d.map(id)
            let qIds = q.map(id)
            kind = .single(query: qIds, database: dIds)
        case (.multi(let q, let qw), .multi(let d, let dw)):
            kind = .multi(query: q, queryWords: qw, database: d, databaseWords: dw)
        default:
            // Validated by the caller; an impossible mix ranks everything irrelevant.
            kind = .single(query: [Int32](repeating: -1, count: queries.count),
                           database: [Int32](repeating: -2, count: database.count))
        }
    }
}

/// Per-thread buffers for ranking one query at a time, in one pass over the database plus one over its relevant items.
///
/// The pass computes each item's distance d and its ordinal among the items already seen at distance d
/// (`count[d]`, incremented), and appends (d, ordinal) of every relevant item to a list without branching. After the
/// pass, bucket starts are prefix sums of `count`, so a relevant item's 1-based position in the stable ranking is
/// start[d] + ordinal + 1 — a counting sort without moving the items, in O(N + K).
struct QueryScratch {
    let n: Int
    let bits: Int
    /// Items at distance d.
    var count: [Int]
    /// Relevant items at distance d.
    var relevantAt: [Int]
    /// Per relevant item, in database order: ordinal within its bucket << 16 | distance.
    var relevantList: [UInt64]
    /// Second-half counters and list of the interleaved scan.
    var countB: [Int]
    var listB: [UInt64]
    var totalRelevant = 0
    var start: [Int]
    var hitCursor: [Int]

    init(n: Int, bits: Int) {
        self.n = n
        self.bits = bits
        count = [Int](repeating: 0, count: bits + 1)
        relevantAt = [Int](repeating: 0, count: bits + 1)
        relevantList = [UInt64](repeating: 0, count: n + 1)
        countB = [Int](repeating: 0, count: bits + 1)
        listB = [UInt64](repeating: 0, count: n - n / 2 + 1)
        start = [Int](repeating: 0, count: bits + 1)
        hitCursor = [Int](repeating: 0, count: bits + 1)
    }

    @inline(__always) func bucketCount(_ d: Int) -> Int { count[d] }
    @inline(__always) func bucketRelevant(_ d: Int) -> Int { relevantAt[d] }

    /// The fused pass for one query: `distance(j)` and `relevant(j)` are inlined per code width and label kind.
    ///
    /// The database is scanned as two interleaved halves with their own counters, so the two load-increment-store
    /// chains on `count[d]` overlap; the second half's ordinals are shifted by the first half's bucket counts after.
    @inline(__always)
    private mutating func scan(_ distance: (Int) -> Int, _ relevant: (Int) -> Bool) {
        let n = self.n, half = n / 2, buckets = bits + 1
        var mA = 0, mB = 0
        count.withUnsafeMutableBufferPointer { cP in
        countB.withUnsafeMutableBufferPointer { cbP in
        relevantList.withUnsafeMutableBufferPointer { lP in
        listB.withUnsafeMutableBufferPointer { lbP in
            let cA = cP.baseAddress!, cB = cbP.baseAddress!, listA = lP.baseAddress!, listB = lbP.baseAddress!
            for i in 0..<buckets { cA[i] = 0; cB[i] = 0 }
            for j in 0..<half {
                let a = j, b = half + j
                let da = distance(a), db = distance(b)
                let oa = cA[da]
                cA[da] = oa + 1
                let ob = cB[db]
                cB[db] = ob + 1
                listA[mA] = UInt64(truncatingIfNeeded: oa) << 16 | UInt64(truncatingIfNeeded: da)
                listB[mB] = UInt64(truncatingIfNeeded: ob) << 16 | UInt64(truncatingIfNeeded: db)
                mA += relevant(a) ? 1 : 0
                mB += relevant(b) ? 1 : 0
            }
            if n % 2 == 1 {
                let b = n - 1, db = distance(b)
                let ob = cB[db]
                cB[db] = ob + 1
                listB[mB] = UInt64(truncatingIfNeeded: ob) << 16 | UInt64(truncatingIfNeeded: db)
                mB += relevant(b) ? 1 : 0
            }
            // Second-half entries follow the first half's (database order), ordinals shifted past the first half.
            for i in 0..<mB {
                let e = listB[i], d = Int(e & 0xFFFF)
                listA[mA + i] = e &+ (UInt64(truncatingIfNeeded: cA[d]) << 16)
            }
            for i in 0..<buckets { cA[i] += cB[i] }
        }}}}
        let m = mA + mB
        totalRelevant = m
        for d in 0...bits { relevantAt[d] = 0 }
        relevantList.withUnsafeBufferPointer { lP in
            relevantAt.withUnsafeMutableBufferPointer { rP in
                for i in 0..<m { rP[Int(lP[i] & 0xFFFF)] += 1 }
            }
        }
    }

    /// Ranks the database for query `qi`: fills `count`, `relevantAt` and `relevantList`.
    mutating func rank(query qi: Int, queries: CodeWords, database: CodeWords, relevance: RelevanceTable) {
        let w = database.wordsPerCode
        queries.words.withUnsafeBufferPointer { qwP in
            database.words.withUnsafeBufferPointer { dbP in
                let q = qwP.baseAddress! + qi * w
                let db = dbP.baseAddress!
                switch relevance.kind {
                case .single(let ql, let dl):
                    let label = ql[qi]
                    dl.withUnsafeBufferPointer { lP in
                        let l = lP.baseAddress!
                        let relevant: (Int) -> Bool = { l[$0] == label }
                        switch w {
                        case 1:
                            let q0 = q[0]
                            scan({ (q0 ^ db[$0]).nonzeroBitCount }, relevant)
                        case 2:
                            let q0 = q[0], q1 = q[1]
                            scan({ (q0 ^ db[2 * $0]).nonzeroBitCount + (q1 ^ db[2 * $0 + 1]).nonzeroBitCount }, relevant)
                        case 4:
                            let q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3]
                            scan({ j in
                                let r = db + 4 * j
                                return (q0 ^ r[0]).nonzeroBitCount + (q1 ^ r[1]).nonzeroBitCount
                                    + (q2 ^ r[2]).nonzeroBitCount + (q3 ^ r[3]).nonzeroBitCount
                            }, relevant)
                        default:
                            scan({ j in
                                let r = db + w * j
                                var d = 0
                                for k in 0..<w { d += (q[k] ^ r[k]).nonzeroBitCount }
                                return d
                            }, relevant)
                        }
                    }
                case .multi(let ql, let qw, let dl, let dw):
                    let m = Swift.min(qw, dw)
                    ql.withUnsafeBufferPointer { qP in
                        dl.withUnsafeBufferPointer { lP in
                            let ql = qP.baseAddress! + qi * qw, l = lP.baseAddress!
                            scan({ j in
                                let r = db + w * j
                                var d = 0
                                for k in 0..<w { d += (q[k] ^ r[k]).nonzeroBitCount }
                                return d
                            }, { j in
                                for c in 0..<m where ql[c] & l[j * dw + c] != 0 { return true }
                                return false
                            })
                        }
                    }
                }
            }
        }
    }

    /// Calls `body(position, hit)` for every relevant item, in database order: `position` is its 1-based rank in the
    /// stable ranking, `hit` its 1-based rank among the relevant items.
    mutating func forEachRelevant(_ body: (Int, Int) -> Void) {
        var before = 0, hitsBefore = 0
        for d in 0...bits {
            start[d] = before
            hitCursor[d] = hitsBefore
            before += count[d]
            hitsBefore += relevantAt[d]
        }
        let m = totalRelevant
        relevantList.withUnsafeBufferPointer { lP in
            start.withUnsafeBufferPointer { sP in
                hitCursor.withUnsafeMutableBufferPointer { hP in
                    for i in 0..<m {
                        let entry = lP[i]
                        let d = Int(entry & 0xFFFF)
                        hP[d] += 1
                        body(sP[d] + Int(entry >> 16) + 1, hP[d])
                    }
                }
            }
        }
    }
}
