import BihashCore
import Foundation
import Testing
import _BihashTestSupport
import BihashEval

@Suite("Retrieval metrics")
struct MetricsTests {
    /// 4-bit codes: 0xF0 = 1111, 0x10 = 0001, 0x00 = 0000.
    static func tiny() throws -> (PackedCodes, RetrievalLabels, PackedCodes, RetrievalLabels) {
        (try PackedCodes(bits: 4, count: 2, bytes: [0xF0, 0x00]), RetrievalLabels([1, 2]),
         try PackedCodes(bits: 4, count: 4, bytes: [0xF0, 0x10, 0x00, 0xF0]), RetrievalLabels([1, 2, 1, 1]))
    }

    @Test func handCheckedTinyCase() throws {
        let (q, ql, db, dl) = try Self.tiny()
        // Query 0 (1111, label 1): distances 0, 3, 4, 0 → ranking 0, 3, 1, 2; relevance 1, 1, 0, 1.
        //   AP@All = (1/1 + 2/2 + 3/4) / 3 = 11/12.
        // Query 1 (0000, label 2): distances 4, 1, 0, 4 → ranking 2, 1, 0, 3; relevance 0, 1, 0, 0. AP@All = 1/2.
        #expect(try RetrievalEvaluator.ranking(query: 0, of: q, in: db) == [0, 3, 1, 2])
        #expect(try RetrievalEvaluator.ranking(query: 1, of: q, in: db) == [2, 1, 0, 3])
        let options = EvaluationOptions(mapCutoffs: [2, 10], precisionCutoffs: [1, 3], radii: [0, 2], threads: 1)
        let r = try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: db, databaseLabels: dl, options: options)
        #expect(abs(r.mapAll - 17.0 / 24) < 1e-15)
        #expect(r.mapAt.map(\.at) == [2, 10])
        #expect(abs(r.mapAt[0].value - 0.75) < 1e-15)        // (1 + 1/2) / 2
        #expect(abs(r.mapAt[1].value - 17.0 / 24) < 1e-15)   // R > N = mAP@All
        #expect(r.precisionAt.map(\.value) == [0.5, 0.5])     // P@1 (1 + 0)/2, P@3 (2/3 + 1/3)/2
        #expect(r.precisionWithinRadius.map(\.value) == [0.5, 0.75])
        let pr = try #require(r.prCurve)
        #expect(pr.radius == [0, 1, 2, 3, 4])
        let expectedPrecision: [Double] = [2.0 / 3, 0.75, 0.75, 0.6, 0.5]
        #expect(pr.precision == expectedPrecision)
        #expect(pr.recall == [0.5, 0.75, 0.75, 0.75, 1])
        #expect(r.queriesWithoutRelevant == 0)
        #expect(try RetrievalEvaluator.meanAveragePrecision(queries: q, queryLabels: ql, database: db, databaseLabels: dl) == r.mapAll)
    }

    @Test func tiesAreBrokenByDatabaseIndex() throws {
        // Every code equal: the ranking is the database order, so AP depends only on where the relevant items sit.
        let db = try PackedCodes(bits: 8, count: 4, bytes: [7, 7, 7, 7])
        let q = try PackedCodes(bits: 8, count: 2, bytes: [7, 0xFF])
        #expect(try RetrievalEvaluator.ranking(query: 0, of: q, in: db) == [0, 1, 2, 3])
        let m = try RetrievalEvaluator.perQueryMetrics(queries: q, queryLabels: RetrievalLabels([0, 1]), database: db,
                                                       databaseLabels: RetrievalLabels([0, 1, 0, 1]),
                                                       options: EvaluationOptions(mapCutoffs: [1], precisionCutoffs: [2], radii: [0]))
        let expectedAP: [Double] = [(1 + 2.0 / 3) / 2, (1.0 / 2 + 2.0 / 4) / 2]
        #expect(m.averagePrecisionAll == expectedAP)
        #expect(m.averagePrecisionAt == [[1, 0]])             // AP@1: query 1's top item is irrelevant → 0
        #expect(m.precisionAt == [[0.5, 0.5]])
        #expect(m.precisionWithinRadius == [[0.5, 0]])         // query 1 (distance 5 to all) retrieves nothing → 0
        #expect(m.relevantCount == [2, 2])
    }

    @Test func queriesWithoutRelevantItemsCountAsZero() throws {
        let db = try PackedCodes(bits: 8, count: 3, bytes: [1, 2, 3])
        let q = try PackedCodes(bits: 8, count: 2, bytes: [1, 1])
        let r = try RetrievalEvaluator.evaluate(queries: q, queryLabels: RetrievalLabels([5, 9]), database: db,
                                                databaseLabels: RetrievalLabels([5, 5, 5]))
        #expect(r.mapAll == 0.5)
        #expect(r.queriesWithoutRelevant == 1)
        #expect(r.precisionAt.map(\.value) == [0.5, 0.5])  // P@100 and P@1000 clamp to N = 3
    }

    @Test func multiLabelRelevanceIsSetIntersection() throws {
        let db = try PackedCodes(bits: 8, count: 3, bytes: [0, 1, 3])
        let q = try PackedCodes(bits: 8, count: 1, bytes: [0])
        let ql = try RetrievalLabels(sets: [[2, 70]])
        let dl = try RetrievalLabels(multiHot: Tensor<Float>(rows: [Array(repeating: 0, count: 71), [0, 0, 1] + Array(repeating: 0, count: 68),
                                                                 Array(repeating: 0, count: 70) + [1]]))
        #expect(!ql.isRelevant(query: 0, to: dl, item: 0))
        #expect(ql.isRelevant(query: 0, to: dl, item: 1) && ql.isRelevant(query: 0, to: dl, item: 2))
        let m = try RetrievalEvaluator.perQueryMetrics(queries: q, queryLabels: ql, database: db, databaseLabels: dl)
        let expectedAP: Double = (1.0 / 2 + 2.0 / 3) / 2
        #expect(m.averagePrecisionAll == [expectedAP])
        #expect(throws: BihashError.self) { try RetrievalLabels(sets: [[-1]]) }
        #expect(throws: BihashError.self) { try RetrievalLabels(multiHot: Tensor<Float>(rows: [[0, 0.5]])) }
    }

    @Test func resultsDoNotDependOnThreadCount() throws {
        var rng = SeededGenerator(seed: 11)
        let q = try EvalFixtures.codes(bits: 16, count: 37, distinct: 9, rng: &rng)
        let db = try EvalFixtures.codes(bits: 16, count: 501, distinct: 40, rng: &rng)
        let ql = RetrievalLabels(EvalFixtures.labels(count: 37, classes: 5, rng: &rng))
        let dl = RetrievalLabels(EvalFixtures.labels(count: 501, classes: 5, rng: &rng))
        let reports = try [1, 2, 3, 8].map {
            try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: db, databaseLabels: dl,
                                            options: EvaluationOptions(mapCutoffs: [10, 100], radii: [0, 2, 16], threads: $0))
        }
        for r in reports.dropFirst() { #expect(r == reports[0]) }
    }

    @Test func rejectsBadInput() throws {
        let (q, ql, db, dl) = try Self.tiny()
        func fails(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "accepted" } catch { return "\(error)" }
        }
        let db8 = try PackedCodes(bits: 8, count: 4, bytes: [0, 0, 0, 0])
        #expect(fails { try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: db8, databaseLabels: dl) }
            .contains("4 bits but database codes have 8"))
        #expect(fails { try RetrievalEvaluator.evaluate(queries: q, queryLabels: RetrievalLabels([1]), database: db, databaseLabels: dl) }
            .contains("one query label per query code (2), got 1"))
        #expect(fails { try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: db, databaseLabels: RetrievalLabels([1])) }
            .contains("one database label per database code (4), got 1"))
        #expect(fails { try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: PackedCodes(bits: 4), databaseLabels: RetrievalLabels([])) }
            .contains("empty"))
        #expect(fails { try RetrievalEvaluator.evaluate(queries: PackedCodes(bits: 4), queryLabels: RetrievalLabels([]), database: db, databaseLabels: dl) }
            .contains("empty"))
        #expect(fails { try RetrievalEvaluator.evaluate(queries: q, queryLabels: RetrievalLabels(sets: [[1], [2]]), database: db, databaseLabels: dl) }
            .contains("multi-label"))
        #expect(fails { try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: db, databaseLabels: dl,
                                                        options: EvaluationOptions(mapCutoffs: [0])) }.contains("R must be ≥ 1"))
        #expect(fails { try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: db, databaseLabels: dl,
                                                        options: EvaluationOptions(precisionCutoffs: [-3])) }.contains("N must be ≥ 1"))
        #expect(fails { try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: db, databaseLabels: dl,
                                                        options: EvaluationOptions(radii: [5])) }.contains("0...4"))
        #expect(fails { try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: db, databaseLabels: dl,
                                                        options: EvaluationOptions(threads: 0)) }.contains("threads"))
        #expect(fails { try RetrievalEvaluator.ranking(query: 2, of: q, in: db) }.contains("outside 0..<2"))
    }

    @Test func reportFormatsAsTableAndJSON() throws {
        let (q, ql, db, dl) = try Self.tiny()
        let r = try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: db, databaseLabels: dl,
                                                options: EvaluationOptions(mapCutoffs: [2], precisionCutoffs: [1], radii: [2]))
        let table = r.table(title: "tiny")
        #expect(table.hasPrefix("tiny\nretrieval: 4 bits, 2 queries, 4 database items\n"))
        #expect(table.contains("  mAP@All       0.7083\n"))
        #expect(table.contains("  mAP@2         0.7500\n"))
        #expect(table.contains("  P@1           0.5000\n"))
        #expect(table.contains("  P@H≤2         0.7500\n"))
        #expect(table.contains("         4  0.5000     1.0000\n"))
        let json = try r.json()
        #expect(json.contains("\"mapAll\""))
        #expect(try RetrievalReport.fromJSON(json) == r)
        #expect(try RetrievalReport.fromJSON(r.json(pretty: false)) == r)
        #expect(throws: BihashError.self) { try RetrievalReport.fromJSON("{\"bits\": 3}") }
    }
}
