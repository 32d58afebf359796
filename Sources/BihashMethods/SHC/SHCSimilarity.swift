import BihashCore
import BihashNN

/// SHC stage 1 (ALGORITHMS.md §3.1, SHC `GenerateSimilarityMatrix.py`, `network.py::ClassifyNet`): a classifier on
/// the input features and the class-similarity matrix S it induces.
///
/// The classifier is the spec's head on bihash's feature input, Linear(D→C) with weights N(0, 0.01) and bias 0,
/// trained with softmax cross-entropy, RMSprop (weight decay 1e-5) and cosine annealing to 0 over its epochs.
public enum SHCSimilarity {
    /// The class-similarity matrix S: [C, C] from classifier logits [N, C] of the training samples and their
    /// classes (§3.1 steps 1–5):
    ///
    ///  1. for each sample with class y: z_y ← −∞, p = softmax(z) (the probability spread over the other classes);
    ///  2. S[y, :] += p (the diagonal stays 0);
    ///  3. S ← (S + Sᵀ)/2;
    ///  4. row-wise: S[i] ← (S[i] − mean S[i]) / max(|max S[i] − mean S[i]|, |min S[i] − mean S[i]|), the mean over
    ///     all C entries including the zero diagonal (the result is not symmetric);
    ///  5. diag(S) = 1.
    ///
    /// A row that is constant after step 3 (possible only in degenerate cases, e.g. C = 2) has a zero denominator;
    /// it is left at 0 off the diagonal rather than divided by zero (the released code would produce NaN).
    /// - Throws: `BihashError.invalidArgument` for shape mismatches, fewer than 2 classes or a class out of range.
    public static func matrix(logits: Tensor<Float>, labels: [Int]) throws -> Tensor<Double> {
        try require(logits.rank == 2 && logits.cols >= 2, "SHC similarity: expected logits [N, C] with C ≥ 2, got \(logits.shape)")
        try require(labels.count == logits.rows, "SHC similarity: \(labels.count) labels for \(logits.rows) rows")
        let n = logits.rows, c = logits.cols
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= c }) {
            throw BihashError.invalidArgument("SHC similarity: label \(bad) is \(labels[bad]), expected 0…\(c - 1)")
        }
        var s = [Double](repeating: 0, count: c * c)
        var p = [Double](repeating: 0, count: c)
        for i in 0..<n {
            let y = labels[i]
            let row = logits.row(i)
            let base = row.startIndex
            // Step 1: mask the own class (z_y = −∞) and take a stable softmax over the other C − 1 logits.
            var m = -Double.infinity
            for j in 0..<c where j != y { m = max(m, Double(row[base + j])) }
            var total = 0.0
            for j in 0..<c {
                p[j] = j == y ? 0 : Double.exp(Double(row[base + j]) - m)  // exp(−∞) = 0 for the masked class
                total += p[j]
            }
            // Step 2: accumulate into row y.
            for j in 0..<c { s[y * c + j] += p[j] / total }
        }
        // Step 3: symmetrise.
        var sym = s
        for i in 0..<c { for j in 0..<c { sym[i * c + j] = (s[i * c + j] + s[j * c + i]) / 2 } }
        // Step 4: row-wise centring and scaling by the largest deviation (mean includes the zero diagonal).
        var out = sym
        for i in 0..<c {
            let r = sym[(i * c)..<((i + 1) * c)]
            let mean = r.reduce(0, +) / Double(c)
            let scale = max(abs(r.max()! - mean), abs(r.min()! - mean))
            for j in 0..<c { out[i * c + j] = scale > 0 ? (sym[i * c + j] - mean) / scale : 0 }
            out[i * c + i] = 1  // Step 5
        }
        return Tensor(uncheckedShape: [c, c], scalars: out)
    }

    /// Trains the stage-1 classifier Linear(D→C) on x: [N, D] with classes `labels` (0..<C) and returns it.
    ///
    /// Uses the configuration's seed, batch size and weight decay, RMSprop at `shcClassifierLearningRate` for
    /// `shcClassifierEpochs` epochs with CosineAnnealingLR(T_max = those epochs, η_min = 0) as in §3.1.
    static func trainClassifier(features x: Tensor<Float>, labels: [Int], classes: Int,
                                configuration c: TrainingConfiguration) throws -> Linear<Float> {
        var rng = SeededGenerator(seed: c.seed &+ 11)
        let classifier = Linear<Float>(x.cols, classes, name: "classifier", using: &rng)
        classifier.weight.value = .normal([classes, x.cols], std: 0.01, using: &rng)  // §3.1: N(0, 0.01), bias 0
        classifier.bias.value = Tensor(zeros: [classes])
        classifier.computesInputGradient = false
        var stage = c
        stage.optimizer = .rmsprop
        stage.epochs = c.shcClassifierEpochs
        stage.learningRate = c.shcClassifierLearningRate
        stage.learningRateSchedule = .cosine(etaMin: 0)
        stage.seed = c.seed &+ 12
        let loss = SoftmaxCrossEntropyLoss<Float>()
        _ = try EpochLoop.run(sampleCount: x.rows, configuration: stage, parameters: classifier.parameters,
                              progress: nil) { batch in
            let z = try classifier.forward(x.gatherRows(batch), training: true)
            let value = try loss.forward(z, classes: batch.map { labels[$0] })
            _ = try classifier.backward(try loss.backward())
            return Double(value)
        }
        return classifier
    }

    /// Logits of `classifier` for every row of x (eval mode), in chunks to bound memory.
    static func logits(_ classifier: Linear<Float>, _ x: Tensor<Float>) throws -> Tensor<Float> {
        var out = [Float]()
        out.reserveCapacity(x.rows * classifier.outFeatures)
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + 4096)
            out.append(contentsOf: try classifier.forward(x.rows(start..<end), training: false).scalars)
            start = end
        }
        return Tensor(uncheckedShape: [x.rows, classifier.outFeatures], scalars: out)
    }
}
