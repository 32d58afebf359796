import ArgumentParser
import CBihashABI
import Foundation

/// `bihash eval`: retrieval metrics of a model on an evaluation protocol.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a model on a protocol: mAP@All, mAP@1000, P@1000 and P@H≤2.",
        discussion: "Encodes the protocol's query and database parts; relevance = same label; ties by database index.")

    @Option(help: "Model file (safetensors).")
    var model: String

    @Option(name: .customLong("protocol"), help: "Evaluation protocol, e.g. fashion-mnist.")
    var protocolName: String

    @Flag(help: "Print JSON.")
    var json = false

    struct Report: Encodable {
        let `protocol`: String
        let bits: Int
        let queries: Int
        let database: Int
        let map_all: Double
        let map_at_1000: Double
        let precision_at_1000: Double
        let precision_radius2: Double
        let queries_without_relevant: Int
    }

    func run() throws {
        let model = try loadModel(self.model)
        defer { bihash_model_free(model) }
        let bits = bihash_model_bits(model)
        let progress = stderrIsTerminal && !json
        let query = try DataSource(protocolName + ":query", defaultPart: "query").load()
        defer { bihash_data_free(query) }
        let database = try DataSource(protocolName + ":database", defaultPart: "database").load()
        defer { bihash_data_free(database) }
        guard let queryLabels = bihash_data_labels(query), let databaseLabels = bihash_data_labels(database) else {
            throw Failure("protocol \(protocolName) has no labels")
        }
        let queryCodes = try encodeFeatures(model, query, label: "\(protocolName):query", progress: progress)
        let databaseCodes = try encodeFeatures(model, database, label: "\(protocolName):database", progress: progress)

        var metrics = bihash_metrics()
        metrics.struct_size = MemoryLayout<bihash_metrics>.size
        let nq = bihash_data_rows(query), ndb = bihash_data_rows(database)
        try check(bihash_evaluate(bits, queryCodes, queryLabels, nq, databaseCodes, databaseLabels, ndb, 1000, &metrics),
                  "evaluate")
        let report = Report(
            protocol: protocolName, bits: Int(bits), queries: nq, database: ndb,
            map_all: metrics.map_all, map_at_1000: metrics.map_at_k, precision_at_1000: metrics.precision_at_k,
            precision_radius2: metrics.precision_radius2, queries_without_relevant: metrics.queries_without_relevant)
        if json {
            try printJSON(report)
        } else {
            print("protocol  \(protocolName) (\(nq) queries, \(ndb) database items, \(bits) bits)")
            print(String(format: "mAP@All   %.4f", report.map_all))
            print(String(format: "mAP@1000  %.4f", report.map_at_1000))
            print(String(format: "P@1000    %.4f", report.precision_at_1000))
            print(String(format: "P@H≤2     %.4f", report.precision_radius2))
        }
    }
}
