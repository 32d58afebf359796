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
        let sdc = try SDCLoss(alpha: c.betaA, beta: c.betaB, orthoConstraint: c.sdcContrastive)
        let quantization = CosineQuantizationLoss()
        let lambda = Float(c.sdcQuantizationWeight)
        if c.sdcContrastive, let image = c.imageShape {
            return try trainContrastive(x, c, head: head, sdc: sdc, quantization: quantization, image: image, progress: progress)
        }

        let reports = try EpochLoop.run(sampleCount: x.rows, configuration: c, parameters: head.parameters,
                                        dropLast: true, progress: progress) { batch in
            let xb = x.gatherRows(batch)
            let v = try head.forward(xb, training: true)
            let t = try CosineSimilarityPreservationLoss<Float>.targetSimilarity(xb)  // detached cos(x_a, x_b)
            var loss = Double(try sdc.forward(codes: v, featureSimilarity: t))
            var grad = try sdc.backward()
            if lambda > 0 {
                loss += Double(lambda * (try quantization.forward(v)))
                try grad.add(try quantization.backward(), scaledBy: lambda)
            }
            _ = try head.backward(grad)
            return loss
        }
        return try finish(c, head: head, inputDimension: d, reports: reports)
    }

    static func finish(_ c: TrainingConfiguration, head: Sequential<Float>, inputDimension: Int,
                       reports: [EpochReport]) throws -> TrainingResult {
        var metadata = trainingMetadata(c)
        metadata["beta_a"] = String(c.betaA)
        metadata["beta_b"] = String(c.betaB)
        if c.sdcContrastive { metadata["contrastive"] = "true" }
        let model = try HashModel(method: .sdc, bits: c.bits, inputDimension: inputDimension, encoder: head, metadata: metadata)
        model.imageInput = c.imageShape
        return TrainingResult(model: model, epochs: reports)
    }

    /// The contrastive variant (`sdc_simclr.yaml`): the batch is [view1; view2] (2N rows through the head, so
    /// BatchNorm sees both views); SDC pairs quarter 1 with quarter 2 and quarter 3 with quarter 4 (one loss over
    /// the N pairs, targets clamped at 0); L = L_sdc + λ_q·L_q + NT-Xent(view1, view2; τ = 0.3).
    static func trainContrastive(_ x: Tensor<Float>, _ c: TrainingConfiguration, head: Sequential<Float>, sdc: SDCLoss,
                                 quantization: CosineQuantizationLoss, image: ImageInput,
                                 progress: TrainingProgress?) throws -> TrainingResult {
        let augmentation = try ImageAugmentation(width: image.width, height: image.height, channels: image.channels)
        var augmentRNG = SeededGenerator(seed: c.seed &+ 3)
        let contrastive = try NTXentLoss(temperature: 0.3)
        let lambda = Float(c.sdcQuantizationWeight)
        let reports = try EpochLoop.run(sampleCount: x.rows, configuration: c, parameters: head.parameters,
                                        dropLast: true, progress: progress) { batch in
            let n = batch.count / 2 * 2, half = n / 2  // an even number of samples: quarters pair up
            guard n >= 2 else { return 0 }
            let xb = x.gatherRows(batch.prefix(n))
            let x1 = augmentation.apply(xb, using: &augmentRNG), x2 = augmentation.apply(xb, using: &augmentRNG)
            let views = Tensor<Float>(uncheckedShape: [2 * n, x.cols], scalars: x1.scalars + x2.scalars)
            let v = try head.forward(views, training: true)
            // Rows [q1; q3; q2; q4] so that SDCLoss's first-half/second-half pairs are (q1, q2) and (q3, q4).
            let order = Array(0..<half) + Array(n..<(n + half)) + Array(half..<n) + Array((n + half)..<(2 * n))
            let t = try CosineSimilarityPreservationLoss<Float>.targetSimilarity(views.gatherRows(order))
            var loss = Double(try sdc.forward(codes: v.gatherRows(order), featureSimilarity: t))
            let gradOrdered = try sdc.backward()
            var grad = Tensor<Float>(zeros: v.shape)
            for (row, source) in order.enumerated() {  // scatter back to [view1; view2] order
                for j in 0..<v.cols { grad.scalars[source * v.cols + j] = gradOrdered.scalars[row * v.cols + j] }
            }
            if lambda > 0 {
                loss += Double(lambda * (try quantization.forward(v)))
                try grad.add(try quantization.backward(), scaledBy: lambda)
            }
            loss += Double(try contrastive.forward(v.rows(0..<n), v.rows(n..<(2 * n))))
            let (g1, g2) = try contrastive.backward()
            try grad.add(Tensor(uncheckedShape: v.shape, scalars: g1.scalars + g2.scalars))
            _ = try head.backward(grad)
            return loss
        }
        return try finish(c, head: head, inputDimension: x.cols, reports: reports)
    }
}
