import BihashCore
import BihashNN

/// The entry point for training any method on a feature matrix.
///
///     var config = TrainingConfiguration(method: .bihalf, bits: 64)
///     config.epochs = 20
///     let result = try Trainer.train(features: x, configuration: config)
///     let codes = try result.model.encode(queries)
public enum Trainer {
    /// Trains `configuration.method` on features x: [N, D] (rows = samples).
    /// - Throws: `BihashError` for an invalid configuration, empty or non-finite data, cancellation, divergence.
    public static func train(features x: Tensor<Float>, configuration c: TrainingConfiguration,
                             progress: TrainingProgress? = nil) throws -> TrainingResult {
        try require(x.rank == 2, "features must be a matrix [N, D], got shape \(x.shape)")
        try c.validate(sampleCount: x.rows, featureDimension: x.cols)
        try requireFinite(x)
        switch c.method {
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
