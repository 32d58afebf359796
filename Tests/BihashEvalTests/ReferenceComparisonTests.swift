import BihashCore
import Foundation
import Testing
import _BihashTestSupport
import BihashEval

/// Compares every metric with the NumPy re-implementation `tools/reference/eval_metrics.py` (stable argsort).
@Suite("Metrics vs NumPy reference")
struct ReferenceComparisonTests {
    struct Fixture: CustomStringConvertible, Sendable {
        var name: String
        var bits: Int
        var queries: Int
        var database: Int
        var queryPool: Int?      // distinct query codes (nil = all random)
        var databasePool: Int?   // distinct database codes
        var classes: Int
        var multiLabel = false
        var seed: UInt64
        var description: String { name }
    }

    static let fixtures: [Fixture] = [
        Fixture(name: "4 bits, heavy ties", bits: 4, queries: 60, database: 401, queryPool: 5, databasePool: 6, classes: 4, seed: 1),
        Fixture(name: "8 bits, heavy ties, absent classes", bits: 8, queries: 50, database: 300, queryPool: 12, databasePool: 20, classes: 7, seed: 2),
        Fixture(name: "12 bits (odd K)", bits: 12, queries: 40, database: 351, queryPool: nil, databasePool: 50, classes: 5, seed: 3),
        Fixture(name: "64 bits, random", bits: 64, queries: 30, database: 300, queryPool: nil, databasePool: nil, classes: 3, seed: 4),
        Fixture(name: "100 bits, two words", bits: 100, queries: 20, database: 201, queryPool: nil, databasePool: 60, classes: 4, seed: 10),
        Fixture(name: "130 bits, generic word loop", bits: 130, queries: 20, database: 149, queryPool: nil, databasePool: 30, classes: 4, seed: 5),
        Fixture(name: "256 bits", bits: 256, queries: 20, database: 150, queryPool: nil, databasePool: nil, classes: 2, seed: 6),
        Fixture(name: "16 bits, multi-label", bits: 16, queries: 40, database: 300, queryPool: 10, databasePool: 25, classes: 6, multiLabel: true, seed: 7),
        Fixture(name: "32 bits, one database item", bits: 32, queries: 6, database: 1, queryPool: nil, databasePool: nil, classes: 3, seed: 9),
        Fixture(name: "1 bit", bits: 1, queries: 10, database: 41, queryPool: nil, databasePool: nil, classes: 3, seed: 8),
    ]

    @Test(arguments: fixtures)
    func matchesReference(_ f: Fixture) throws {
        var rng = SeededGenerator(seed: f.seed)
        let q = try EvalFixtures.codes(bits: f.bits, count: f.queries, distinct: f.queryPool, rng: &rng)
        let db = try EvalFixtures.codes(bits: f.bits, count: f.database, distinct: f.databasePool, rng: &rng)
        let mapCutoffs = [1, 5, 50, f.database, 100_000]
        let precisionCutoffs = [1, 10, 100, 100_000]
        let radii = Array(Set([0, 1, 2, f.bits / 2, f.bits].filter { $0 <= f.bits })).sorted()
        var input: [String: Any] = [
            "bits": f.bits, "query_codes": EvalFixtures.json(q), "db_codes": EvalFixtures.json(db),
            "map_cutoffs": mapCutoffs, "precision_cutoffs": precisionCutoffs, "radii": radii, "rank_queries": [0, 1, f.queries - 1],
        ]
        let ql: RetrievalLabels, dl: RetrievalLabels
        if f.multiLabel {
            let qs = EvalFixtures.sets(count: f.queries, classes: f.classes, rng: &rng)
            let ds = EvalFixtures.sets(count: f.database, classes: f.classes, rng: &rng)
            (ql, dl) = (try RetrievalLabels(sets: qs), try RetrievalLabels(sets: ds))
            input["query_sets"] = qs
            input["db_sets"] = ds
        } else {
            var qLabels = EvalFixtures.labels(count: f.queries, classes: f.classes, rng: &rng)
            let dLabels = EvalFixtures.labels(count: f.database, classes: f.classes - 1, rng: &rng)  // class c-1 absent
            qLabels[0] = f.classes - 1  // at least one query without relevant items
            (ql, dl) = (RetrievalLabels(qLabels), RetrievalLabels(dLabels))
            input["query_labels"] = qLabels
            input["db_labels"] = dLabels
        }
        let ref = try PythonReference.run("eval_metrics.py", input: input)
        let options = EvaluationOptions(mapCutoffs: mapCutoffs, precisionCutoffs: precisionCutoffs, radii: radii, threads: 2)
        let report = try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: db, databaseLabels: dl, options: options)
        let perQuery = try RetrievalEvaluator.perQueryMetrics(queries: q, queryLabels: ql, database: db, databaseLabels: dl, options: options)

        func close(_ a: [Double], _ b: [Double], _ what: String) {
            let (ok, maxDiff) = allClose(a, b, rtol: 0, atol: 1e-9)
            #expect(ok && a.count == b.count, "\(f.name): \(what) differs, max |Δ| = \(maxDiff)")
        }
        close([report.mapAll], [(ref["map_all"] as? NSNumber)?.doubleValue ?? .nan], "mAP@All")
        close(perQuery.averagePrecisionAll, PythonReference.doubles(ref["ap_all"]), "AP@All per query")
        close(report.mapAt.map(\.value), PythonReference.doubles(ref["map_at"]), "mAP@R")
        let apAt = try #require(ref["ap_at"] as? [Any])
        for (c, values) in apAt.enumerated() { close(perQuery.averagePrecisionAt[c], PythonReference.doubles(values), "AP@\(mapCutoffs[c]) per query") }
        close(report.precisionAt.map(\.value), PythonReference.doubles(ref["p_at"]), "P@N")
        let pAt = try #require(ref["p_at_per_query"] as? [Any])
        for (c, values) in pAt.enumerated() { close(perQuery.precisionAt[c], PythonReference.doubles(values), "P@\(precisionCutoffs[c]) per query") }
        close(report.precisionWithinRadius.map(\.value), PythonReference.doubles(ref["p_radius"]), "P@H≤r")
        let pRad = try #require(ref["p_radius_per_query"] as? [Any])
        for (c, values) in pRad.enumerated() { close(perQuery.precisionWithinRadius[c], PythonReference.doubles(values), "P@H≤\(radii[c]) per query") }
        let pr = try #require(report.prCurve)
        close(pr.precision, PythonReference.doubles(ref["pr_precision"]), "PR precision")
        close(pr.recall, PythonReference.doubles(ref["pr_recall"]), "PR recall")
        #expect(perQuery.relevantCount == ints(ref["relevant"]))
        #expect(report.queriesWithoutRelevant == ints(ref["relevant"]).filter { $0 == 0 }.count)
        if !f.multiLabel { #expect(report.queriesWithoutRelevant >= 1) }
        let rankings = try #require(ref["rankings"] as? [String: Any])
        for (key, value) in rankings {
            #expect(try RetrievalEvaluator.ranking(query: Int(key)!, of: q, in: db) == ints(value), "\(f.name): ranking of query \(key)")
        }
    }

    func ints(_ value: Any?) -> [Int] {
        (value as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } ?? []
    }
}
