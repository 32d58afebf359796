import BihashCore
import BihashNN

/// The feature-hashing recipe (ALGORITHMS.md §1.4b, BH `ImageHashing/*.py`, GreedyHash §2.5):
///
///     x → [Dropout(p)] → Linear(D→K) = U → binarizer → B
///     L = mean_p ( cos(B_a[p], B_b[p]) − cos(x_a[p], x_b[p]) )²     a = first half, b = second half of the batch
///         [+ 0.1·mean | |U| − 1 |³ for GreedyHash]
///
/// The cosine targets use the same (dropped-out) features the head sees, as in BH's scripts.
enum FeatureHashingRecipe {
    static func train(features x: Tensor<Float>, configuration c: TrainingConfiguration,
                      progress: TrainingProgress?) throws -> TrainingResult {
        let d = x.cols, k = c.bits
        var rng = SeededGenerator(seed: c.seed)
        let head = Linear<Float>(d, k, name: "hash", using: &rng)
        head.computesInputGradient = false  // the features are fixed inputs
        let dropout = c.inputDropout > 0 ? try Dropout<Float>(probability: Float(c.inputDropout), seed: c.seed &+ 2) : nil
        let binarizer = EpochLoop.makeBinarizer(c)
        let similarity = CosineSimilarityPreservationLoss<Float>()
        let qWeight = Float(c.quantizationWeight)

        let reports = try EpochLoop.run(sampleCount: x.rows, configuration: c, parameters: head.parameters,
                                        progress: progress) { batch in
            var xb = x.gatherRows(batch)
            if let dropout { xb = try dropout.forward(xb, training: true) }
            let u = try head.forward(xb, training: true)
            let b = try binarizer.forward(u, training: true)
            var loss = Double(try similarity.forward(codes: b, features: xb))
            var gradB = try similarity.backward()
            if c.method == .signreg {
                loss += Double(Float(c.regularizerWeight) * BitBalanceRegularizer.value(b))
                try gradB.add(BitBalanceRegularizer.gradient(b), scaledBy: Float(c.regularizerWeight))
            }
            var gradU = try binarizer.backward(gradB)
            if c.method == .greedyhash {  // GreedyHash's cubic penalty acts on the pre-sign outputs
                loss += Double(qWeight * CubicQuantizationPenalty.value(u))
                try gradU.add(CubicQuantizationPenalty.gradient(u), scaledBy: qWeight)
            }
            _ = try head.backward(gradU)
            return loss
        }
        let model = try HashModel(method: c.method, bits: k, inputDimension: d, encoder: Sequential<Float>([head]),
                                  metadata: trainingMetadata(c))
        return TrainingResult(model: model, epochs: reports)
    }
}
