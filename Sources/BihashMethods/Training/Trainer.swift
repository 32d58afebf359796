import BihashCore
import BihashNN

/// The entry point for training any method on a feature matrix.
///
///     var config = TrainingConfiguration(method: .bihalf, bits: 64)
///     config.epochs = 20
///     let result = try Trainer.train(features: x, configuration: config)
///     let codes = try result.model.encode(queries)
public enum Trainer {
    /// Trains `configuration.method` on features x: [N, D] (rows = samples), without labels.
    /// - Throws: `BihashError` for an invalid configuration, empty or non-finite data, cancellation, divergence, or a
    ///   supervised method (SHC), which needs `train(features:labels:configuration:progress:)`.
    public static func train(features x: Tensor<Float>, configuration c: TrainingConfiguration,
                             progress: TrainingProgress? = nil) throws -> TrainingResult {
        try train(features: x, labels: nil, configuration: c, progress: progress)
    }

    /// Trains `configuration.method` on features x: [N, D] with optional class labels (one class index ≥ 0 per row).
    ///
    /// Supervised methods (SHC) require labels: 0…C−1 with every class present and C ≥ 2. Unsupervised methods
    /// ignore them (they are still checked for count and sign when given).
    /// - Throws: `BihashError` for an invalid configuration, empty or non-finite data, missing or invalid labels,
    ///   cancellation, divergence.
    public static func train(features x: Tensor<Float>, labels: [Int]?, configuration c: TrainingConfiguration,
                             progress: TrainingProgress? = nil) throws -> TrainingResult {
        try require(x.rank == 2, "features must be a matrix [N, D], got shape \(x.shape)")
        try c.validate(sampleCount: x.rows, featureDimension: x.cols)
        if let labels, !c.method.isSupervised {
            try require(labels.count == x.rows, "got \(labels.count) labels for \(x.rows) training rows")
            if let i = labels.firstIndex(where: { $0 < 0 }) {
                throw BihashError.invalidArgument("label \(i) is \(labels[i]); labels must be ≥ 0")
            }
        }
        let classes = c.method.isSupervised ? try SHCRecipe.validateLabels(labels, sampleCount: x.rows) : 0
        try requireFinite(x)
        switch c.method {
        case .shc:
            return try SHCRecipe.train(features: x, labels: labels ?? [], classes: classes, configuration: c, progress: progress)
        case .lsh:
            let projection = try LSH.fit(features: x, bits: c.bits, seed: c.seed)
            return TrainingResult(model: try HashModel(method: .lsh, bits: c.bits, inputDimension: x.cols,
                                                       encoder: Sequential([projection]), metadata: trainingMetadata(c)), epochs: [])
        case .itq:
            let projection = try ITQ.fit(features: x, bits: c.bits, iterations: c.itqIterations, seed: c.seed)
            return TrainingResult(model: try HashModel(method: .itq, bits: c.bits, inputDimension: x.cols,
                                                       encoder: Sequential([projection]), metadata: trainingMetadata(c)), epochs: [])
        case .sdc:
            return try SDCRecipe.train(features: x, configuration: c, progress: progress)
        case .bihalf, .sign, .signreg, .greedyhash:
            switch c.recipe {
            case .autoencoder: return try AutoencoderRecipe.train(features: x, configuration: c, progress: progress)
            case .features: return try FeatureHashingRecipe.train(features: x, configuration: c, progress: progress)
            }
        }
    }
}
