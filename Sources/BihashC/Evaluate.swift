// bihash_evaluate: retrieval metrics over packed codes.

import CBihashABI
import BihashCore
import BihashEval

/// The C entry point `bihash_evaluate`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_evaluate")
public func bihashV1_evaluate(_ bits: Int32, _ queryCodes: UnsafePointer<UInt8>?, _ queryLabels: UnsafePointer<Int32>?,
                              _ nq: Int, _ databaseCodes: UnsafePointer<UInt8>?, _ databaseLabels: UnsafePointer<Int32>?,
                              _ ndb: Int, _ k: Int, _ out: UnsafeMutablePointer<bihash_metrics>?) -> Int32 {
    guarded("bihash_evaluate") {
        let out = try nonNull(out, "out")
        guard out.pointee.struct_size >= MemoryLayout<bihash_metrics>.size else {
            throw ABIError.invalidArgument("out->struct_size is \(out.pointee.struct_size); set it to sizeof(bihash_metrics) = \(MemoryLayout<bihash_metrics>.size)")
        }
        let K = try validBits(bits)
        guard nq >= 1, ndb >= 1 else { throw ABIError.invalidArgument("nq and ndb must be ≥ 1, got \(nq) and \(ndb)") }
        guard k >= 1 else { throw ABIError.invalidArgument("k must be ≥ 1, got 0") }
        let q = try packedCodes(queryCodes, count: nq, bits: K, "query_codes")
        let db = try packedCodes(databaseCodes, count: ndb, bits: K, "database_codes")
        _ = try product(nq, 4, "nq labels")
        _ = try product(ndb, 4, "ndb labels")
        let ql = Array(UnsafeBufferPointer(start: try nonNull(queryLabels, "query_labels"), count: nq)).map(Int.init)
        let dl = Array(UnsafeBufferPointer(start: try nonNull(databaseLabels, "database_labels"), count: ndb)).map(Int.init)
        let cut = Swift.min(k, ndb)
        let report = try RetrievalEvaluator.evaluate(
            queries: q, queryLabels: RetrievalLabels(ql), database: db, databaseLabels: RetrievalLabels(dl),
            options: EvaluationOptions(mapCutoffs: [cut], precisionCutoffs: [cut], radii: [Swift.min(2, K)], includePRCurve: false))
        out.pointee.map_all = report.mapAll
        out.pointee.map_at_k = report.mapAt.first?.value ?? 0
        out.pointee.precision_at_k = report.precisionAt.first?.value ?? 0
        out.pointee.precision_radius2 = report.precisionWithinRadius.first?.value ?? 0
        out.pointee.queries_without_relevant = report.queriesWithoutRelevant
    }
}
