import BihashCore
import Foundation
import Testing
import BihashEval

/// Timing of the `fashion-mnist`-sized evaluation (10k queries × 60k database). Not a test of speed: it prints the
/// time and only checks the result is a probability. Runs only with BIHASH_LONG_TESTS=1 (use a release build:
/// `BIHASH_LONG_TESTS=1 swift test -c release --filter LongTimingTests`).
@Suite("Long: evaluation timing", .serialized)
struct LongTimingTests {
    static let enabled = ProcessInfo.processInfo.environment["BIHASH_LONG_TESTS"] == "1"

    @Test(.enabled(if: enabled, "set BIHASH_LONG_TESTS=1"), arguments: [16, 64])
    func fashionMNISTSizedMapAll(bits: Int) throws {
        var rng = SeededGenerator(seed: 42)
        let q = try EvalFixtures.codes(bits: bits, count: 10_000, rng: &rng)
        let db = try EvalFixtures.codes(bits: bits, count: 60_000, rng: &rng)
        let ql = RetrievalLabels(EvalFixtures.labels(count: 10_000, classes: 10, rng: &rng))
        let dl = RetrievalLabels(EvalFixtures.labels(count: 60_000, classes: 10, rng: &rng))
        for (name, options) in [("mAP@All only", EvaluationOptions(mapCutoffs: [], precisionCutoffs: [], radii: [], includePRCurve: false)),
                                ("full report", EvaluationOptions(mapCutoffs: [1000], precisionCutoffs: [100, 1000], radii: [2]))] {
            let start = DispatchTime.now().uptimeNanoseconds
            let r = try RetrievalEvaluator.evaluate(queries: q, queryLabels: ql, database: db, databaseLabels: dl, options: options)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print("TIMING eval.\(bits)bits \(name): 10000 x 60000 in \(seconds) s on \(options.threads) threads (mAP@All \(r.mapAll))")
            #expect(r.mapAll > 0 && r.mapAll < 1)
        }
    }
}
