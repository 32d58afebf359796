import BihashCore
import BihashNN

/// SHC training (Chen et al., ACM MM 2024; ALGORITHMS.md §3), on a feature matrix with single-label classes:
///
///     stage 1: Linear(D→C) classifier, softmax cross-entropy  →  class-similarity S: [C, C]   (`SHCSimilarity`)
///     stage 2: hash centres H: [C, K], ±1, pairwise Hamming ≥ d, arranged to match S           (`HashCenters`)
///     stage 3: x → Linear(D→K) = u;  L = BCE(½(tanh u + 1), ½(c_y + 1)) + λ·mean((|tanh u| − 1)²)   (`SHCCenterLoss`)
///
/// Stage 3 uses the spec's head on bihash's feature input (the Linear(512→K) after the backbone, weights N(0, 0.01),
/// bias 0), RMSprop 1e-4 with weight decay 1e-5 and CosineAnnealingLR(T_max = epochs, η_min = 1e-7), batch 64.
/// Codes are sign(u). The model is the Linear head alone, so it encodes and exports like the feature recipe.
///
/// Deviations from the released code: the model of the last epoch is kept (the reference selects the epoch with the
/// best test mAP, which needs test labels); the stage-1 classifier is a Linear(D→C) trained from scratch on the
/// features rather than a fine-tuned ResNet34; the BCE is evaluated in its exact stable form (see `SHCCenterLoss`).
enum SHCRecipe {
    static func train(features x: Tensor<Float>, labels: [Int], classes: Int, configuration c: TrainingConfiguration,
                      progress: TrainingProgress?) throws -> TrainingResult {
        let d = x.cols, k = c.bits
        // Stage 1: the classifier and S (silent: progress reports stage-3 epochs only).
        let classifier = try SHCSimilarity.trainClassifier(features: x, labels: labels, classes: classes, configuration: c)
        let similarity = try SHCSimilarity.matrix(logits: SHCSimilarity.logits(classifier, x), labels: labels)
        // Stage 2: centres at least d apart, semantically arranged.
        let centerSet = try HashCenters.generate(similarity: similarity, bits: k, seed: c.seed)
        let centers = centerSet.centers
        try require(centers.shape == [classes, k], "SHC: hash centres have shape \(centers.shape), expected [\(classes), \(k)]")

        // Stage 3: the hash head trained toward each sample's class centre.
        var rng = SeededGenerator(seed: c.seed)
        let head = Linear<Float>(d, k, name: "hash", using: &rng)
        head.weight.value = .normal([k, d], std: 0.01, using: &rng)  // §3.4: weights N(0, 0.01), bias 0
        head.bias.value = Tensor(zeros: [k])
        head.computesInputGradient = false  // the features are fixed inputs
        let loss = SHCCenterLoss<Float>(lambda: Float(c.shcQuantizationWeight))
        let reports = try EpochLoop.run(sampleCount: x.rows, configuration: c, parameters: head.parameters,
                                        progress: progress) { batch in
            let u = try head.forward(x.gatherRows(batch), training: true)
            let targets = centers.gatherRows(batch.map { labels[$0] })  // c = H[y] per sample
            let value = try loss.forward(u, centers: targets)
            _ = try head.backward(try loss.backward())
            return Double(value)
        }

        var metadata = trainingMetadata(c)
        metadata["shc.classes"] = String(classes)
        metadata["shc.required_distance"] = String(centerSet.requiredDistance)
        metadata["shc.minimum_distance"] = String(centerSet.minimumDistance)
        metadata["shc.centers"] = SHCCenterCodec.encode(centers)
        metadata["shc.lambda"] = String(c.shcQuantizationWeight)
        metadata["shc.classifier_epochs"] = String(c.shcClassifierEpochs)
        metadata["shc.classifier_learning_rate"] = String(c.shcClassifierLearningRate)
        let model = try HashModel(method: .shc, bits: k, inputDimension: d, encoder: Sequential<Float>([head]), metadata: metadata)
        return TrainingResult(model: model, epochs: reports)
    }

    /// Checks SHC's labels for `sampleCount` training rows and returns the number of classes C = max label + 1.
    /// - Throws: `BihashError.invalidArgument` when labels are missing, of the wrong count, negative, leave a class
    ///   in 0…C−1 without samples (which also catches absurdly large labels), or name a single class.
    static func validateLabels(_ labels: [Int]?, sampleCount: Int) throws -> Int {
        guard let labels else {
            throw BihashError.invalidArgument("SHC is supervised and needs class labels (one integer class 0…C−1 per training row); none were given")
        }
        try require(labels.count == sampleCount, "SHC needs one label per training row: got \(labels.count) labels for \(sampleCount) rows")
        if let i = labels.firstIndex(where: { $0 < 0 }) {
            throw BihashError.invalidArgument("label \(i) is \(labels[i]); SHC labels must be class indices ≥ 0")
        }
        try require(labels.contains { $0 != labels[0] }, "all labels are class \(labels[0]); SHC needs at least 2 classes")
        let classes = (labels.max() ?? 0) + 1
        try require(classes <= sampleCount,
                    "label \(labels.firstIndex(of: classes - 1)!) is \(classes - 1), out of range: SHC labels must be 0…C−1 with every class present, and there are only \(sampleCount) rows")
        var counts = [Int](repeating: 0, count: classes)
        for y in labels { counts[y] += 1 }
        if let missing = counts.firstIndex(of: 0) {
            throw BihashError.invalidArgument("class \(missing) has no training rows (labels go up to \(classes - 1)); SHC labels must be 0…C−1 with every class present")
        }
        return classes
    }
}

/// The text form of SHC's hash centres in a model's metadata (`bihash.train.shc.centers`): one hexadecimal string
/// per centre, centres separated by ",", in class order. Centre i has ⌈K/4⌉ hex digits; bit j (0-based, j < K) is
/// 1 when c[i][j] = +1 and 0 when −1, and bits fill each digit from its most significant bit (bit 0 is the top bit
/// of the first digit), padding the last digit with 0 bits. Example: K = 6, c = [+1, −1, −1, +1, +1, +1] → "9c".
public enum SHCCenterCodec {
    static let digits = Array("0123456789abcdef")

    /// Encodes ±1 centres [C, K] (an entry > 0 is +1, otherwise −1).
    public static func encode(_ centers: Tensor<Float>) -> String {
        let k = centers.cols
        return (0..<centers.rows).map { i -> String in
            let row = Array(centers.row(i))
            var s = ""
            var j = 0
            while j < k {
                var nibble = 0
                for b in 0..<4 { nibble = nibble << 1 | (j + b < k && row[j + b] > 0 ? 1 : 0) }
                s.append(digits[nibble])
                j += 4
            }
            return s
        }.joined(separator: ",")
    }

    /// Decodes `encode`'s text into ±1 centres [C, K].
    /// - Throws: `BihashError.invalidArgument` for a centre of the wrong length or a non-hex digit.
    public static func decode(_ text: String, bits k: Int) throws -> Tensor<Float> {
        try require(k >= 1, "SHC centres: bits must be ≥ 1, got \(k)")
        let rows = text.split(separator: ",", omittingEmptySubsequences: false)
        var out = [Float]()
        out.reserveCapacity(rows.count * k)
        for (i, row) in rows.enumerated() {
            try require(row.count == (k + 3) / 4, "SHC centre \(i) has \(row.count) hex digits, expected \((k + 3) / 4) for K = \(k)")
            var bits = [Float]()
            for ch in row {
                guard let v = ch.hexDigitValue else { throw BihashError.invalidArgument("SHC centre \(i) contains '\(ch)', not a hex digit") }
                for b in (0..<4).reversed() { bits.append(v >> b & 1 == 1 ? 1 : -1) }
            }
            out.append(contentsOf: bits.prefix(k))
        }
        return Tensor(uncheckedShape: [rows.count, k], scalars: out)
    }
}
