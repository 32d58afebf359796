import BihashCore

/// A retrieval benchmark split: training data, queries and a database, with single labels (relevance = same label).
///
/// `trainFeatures` may be the same tensor as `databaseFeatures` (as in `fashion-mnist`); `Tensor` is copy-on-write,
/// so that costs no memory. The database order is part of the protocol: ranking ties are broken by database index,
/// so it must be label-independent (see TARGETS.md, "Protocol trap").
public struct RetrievalDataset: Sendable {
    /// Protocol name, e.g. `fashion-mnist`.
    public let name: String
    /// Training features [N_train, D].
    public let trainFeatures: Tensor<Float>
    /// One label per training row.
    public let trainLabels: [Int]
    /// Query features [N_query, D].
    public let queryFeatures: Tensor<Float>
    /// One label per query.
    public let queryLabels: [Int]
    /// Database features [N_db, D], in the protocol's (label-independent) order.
    public let databaseFeatures: Tensor<Float>
    /// One label per database row.
    public let databaseLabels: [Int]

    /// Validates and wraps the parts of a split.
    /// - Throws: `BihashError.invalidArgument` for empty parts, label counts that differ from the row counts, or
    ///   feature dimensions that differ between parts; `BihashError.numerical` for non-finite features.
    public init(name: String,
                trainFeatures: Tensor<Float>, trainLabels: [Int],
                queryFeatures: Tensor<Float>, queryLabels: [Int],
                databaseFeatures: Tensor<Float>, databaseLabels: [Int]) throws {
        for (part, x, y) in [("train", trainFeatures, trainLabels), ("query", queryFeatures, queryLabels),
                             ("database", databaseFeatures, databaseLabels)] {
            try DataValidation.requireFeatures(x, name: "\(name) \(part) features")
            try DataValidation.requireLabels(y, rows: x.rows, name: "\(name) \(part) labels")
        }
        try require(queryFeatures.cols == trainFeatures.cols && databaseFeatures.cols == trainFeatures.cols,
                    "\(name): feature dimensions differ (train \(trainFeatures.cols), query \(queryFeatures.cols), database \(databaseFeatures.cols))")
        self.name = name
        self.trainFeatures = trainFeatures
        self.trainLabels = trainLabels
        self.queryFeatures = queryFeatures
        self.queryLabels = queryLabels
        self.databaseFeatures = databaseFeatures
        self.databaseLabels = databaseLabels
    }

    /// D, the feature dimension.
    public var featureDimension: Int { trainFeatures.cols }
}

/// The named evaluation protocols.
///
/// ```swift
/// let data = try Protocols.load(name: "fashion-mnist")
/// print(data.queryFeatures.shape, data.databaseFeatures.shape)   // [10000, 784] [60000, 784]
/// ```
public enum Protocols {
    /// Names `load(name:)` accepts.
    public static let names = ["fashion-mnist", "fashion-mnist-20k"]

    /// Loads the protocol called `name`.
    /// - Throws: `BihashError.invalidArgument` for an unknown name (listing the known ones); the protocol's own
    ///   errors otherwise (e.g. `BihashError.io` with the install command when Fashion-MNIST is missing).
    public static func load(name: String) throws -> RetrievalDataset {
        switch name {
        case "fashion-mnist": return try FashionMNIST.load()
        case "fashion-mnist-20k": return try FashionMNIST.loadBalancedSubset()
        default:
            throw BihashError.invalidArgument("unknown evaluation protocol '\(name)'; known protocols: \(names.joined(separator: ", "))")
        }
    }
}
