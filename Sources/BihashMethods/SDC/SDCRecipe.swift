import BihashCore
import BihashNN

/// SDC training (ALGORITHMS.md §2.1–2.3, SDC `models/arch/sdc.py`, `models/loss/sdc.py`):
///
///     x → Linear(D→H) → GELU → Linear(H→K) → BatchNorm1d(K) = v          (H = D by default)
///     L = L_sdc(v; cos of the feature pairs, Beta(α, β)) + λ_q·(1 − cos(v, sign v))     (λ_q = 1)
///
/// Adam 1e-4 (weight decay 1e-5), batch 64 with drop-last, StepLR ×0.1 at 80% of the epochs, single view
/// (no augmentation); pairs are sample i and i + N/2 of each shuffled batch. Codes are sign(v) with BatchNorm in
/// eval mode (running statistics).
enum SDCRecipe {
    static func train(features x: Tensor<Float>, configuration c: TrainingConfiguration,
                      progress: TrainingProgress?) throws -> TrainingResult {
        let d = x.cols, k = c.bits, h = c.sdcHidden ?? d
        var rng = SeededGenerator(seed: c.seed)
        let first = Linear<Float>(d, h, name: "head.0", using: &rng)
        first.computesInputGradient = false  // the features are fixed inputs
        let head = Sequential<Float>([
            first, GELU<Float>(), Linear<Float>(h, k, name: "head.2", using: &rng), BatchNorm1d<Float>(k, name: "head.3"),
        ])
        let sdc = try SDCLoss(alpha: c.betaA, beta: c.betaB)
        let quantization = CosineQuantizationLoss()
        let lambda = Float(c.sdcQuantizationWeight)

        let reports = try EpochLoop.run(sampleCount: x.rows, configuration: c, parameters: head.parameters,
                                        dropLast: true, progress: progress) { batch in
            let xb = x.gatherRows(batch)
            let v = try head.forward(xb, training: true)
            let t = try CosineSimilarityPreservationLoss<Float>.targetSimilarity(xb)  // detached cos(x_a, x_b)
            var loss = Double(try sdc.forward(codes: v, featureSimilarity: t))
            var grad = try sdc.backward()
            if lambda > 0 {
                loss += Double(lambda * (try quantization.forward(v)))
                grad.add(try quantization.backward(), scaledBy: lambda)
            }
            _ = try head.backward(grad)
            return loss
        }
        var metadata = trainingMetadata(c)
        metadata["beta_a"] = String(c.betaA)
        metadata["beta_b"] = String(c.betaB)
        let model = try HashModel(method: .sdc, bits: k, inputDimension: d, encoder: head, metadata: metadata)
        return TrainingResult(model: model, epochs: reports)
    }
}
