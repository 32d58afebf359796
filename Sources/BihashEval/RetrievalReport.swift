import BihashCore
import Foundation

/// The result of `RetrievalEvaluator.evaluate`: mean metrics over all queries, printable as a table and encodable as
/// JSON (`Codable`; keys as the property names).
public struct RetrievalReport: Codable, Equatable, Sendable {
    /// One metric at one cut-off (R of mAP@R, N of P@N, or a Hamming radius r).
    public struct Metric: Codable, Equatable, Sendable {
        /// The cut-off or radius.
        public var at: Int
        /// The mean over all queries.
        public var value: Double

        /// A metric value at a cut-off.
        public init(at: Int, value: Double) {
            self.at = at
            self.value = value
        }
    }

    /// Pooled precision and recall per Hamming radius (see `RetrievalEvaluator` for the definition).
    public struct PRCurve: Codable, Equatable, Sendable {
        /// Radii 0…K.
        public var radius: [Int]
        /// Precision at each radius.
        public var precision: [Double]
        /// Recall at each radius.
        public var recall: [Double]

        /// A curve from parallel arrays.
        public init(radius: [Int], precision: [Double], recall: [Double]) {
            self.radius = radius
            self.precision = precision
            self.recall = recall
        }
    }

    /// K, bits per code.
    public var bits: Int
    /// Number of queries.
    public var queryCount: Int
    /// Number of database items.
    public var databaseCount: Int
    /// Queries without any relevant database item (they count as AP = 0).
    public var queriesWithoutRelevant: Int
    /// mAP over the whole ranking.
    public var mapAll: Double
    /// mAP@R for each requested R.
    public var mapAt: [Metric]
    /// Precision@N for each requested N.
    public var precisionAt: [Metric]
    /// Mean precision within each requested Hamming radius.
    public var precisionWithinRadius: [Metric]
    /// The pooled PR curve over radii 0…K, if requested.
    public var prCurve: PRCurve?

    /// A report from its parts (normally built by `RetrievalEvaluator.evaluate`).
    public init(bits: Int, queryCount: Int, databaseCount: Int, queriesWithoutRelevant: Int, mapAll: Double,
                mapAt: [Metric], precisionAt: [Metric], precisionWithinRadius: [Metric], prCurve: PRCurve?) {
        self.bits = bits
        self.queryCount = queryCount
        self.databaseCount = databaseCount
        self.queriesWithoutRelevant = queriesWithoutRelevant
        self.mapAll = mapAll
        self.mapAt = mapAt
        self.precisionAt = precisionAt
        self.precisionWithinRadius = precisionWithinRadius
        self.prCurve = prCurve
    }

    /// A plain-text table: one line per metric, then the PR curve (if present) as radius / precision / recall rows.
    ///
    /// ```
    /// retrieval: 16 bits, 10000 queries, 60000 database items
    ///   mAP@All      0.4160
    ///   mAP@1000     0.6312
    ///   ...
    /// ```
    /// - Parameter title: an optional first line (e.g. the method name).
    public func table(title: String? = nil) -> String {
        var lines = [String]()
        if let title { lines.append(title) }
        lines.append("retrieval: \(bits) bits, \(queryCount) queries, \(databaseCount) database items"
                     + (queriesWithoutRelevant > 0 ? ", \(queriesWithoutRelevant) queries without relevant items" : ""))
        func row(_ name: String, _ value: Double) {
            lines.append("  " + name.padding(toLength: 14, withPad: " ", startingAt: 0) + RetrievalReport.format(value))
        }
        row("mAP@All", mapAll)
        for m in mapAt { row("mAP@\(m.at)", m.value) }
        for m in precisionAt { row("P@\(m.at)", m.value) }
        for m in precisionWithinRadius { row("P@H≤\(m.at)", m.value) }
        if let prCurve {
            lines.append("  PR curve (pooled, by Hamming radius)")
            lines.append("    radius  precision  recall")
            for i in 0..<prCurve.radius.count {
                let r = String(prCurve.radius[i])
                lines.append("    " + String(repeating: " ", count: Swift.max(0, 6 - r.count)) + r + "  "
                             + RetrievalReport.format(prCurve.precision[i]) + "     " + RetrievalReport.format(prCurve.recall[i]))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// JSON encoding (sorted keys; pretty-printed by default).
    /// - Throws: `BihashError.invalidState` if encoding fails (it cannot for finite values).
    public func json(pretty: Bool = true) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            throw BihashError.invalidState("cannot encode the retrieval report as JSON: \(error)")
        }
    }

    /// Decodes a report written by `json(pretty:)`.
    /// - Throws: `BihashError.invalidFormat` naming what is wrong.
    public static func fromJSON(_ text: String) throws -> RetrievalReport {
        do {
            return try JSONDecoder().decode(RetrievalReport.self, from: Data(text.utf8))
        } catch {
            throw BihashError.invalidFormat("not a retrieval report JSON: \(error)")
        }
    }

    /// Four decimals, fixed width.
    static func format(_ v: Double) -> String {
        let scaled = (v * 10_000).rounded()
        let whole = Int(scaled) / 10_000, frac = abs(Int(scaled) % 10_000)
        let f = String(frac)
        return "\(whole)." + String(repeating: "0", count: 4 - f.count) + f
    }
}
