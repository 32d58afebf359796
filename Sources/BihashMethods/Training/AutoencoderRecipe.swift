import BihashCore
import BihashNN

/// The autoencoder recipe (ALGORITHMS.md §1.4a, BH `AutoEncoder/{BiHalf,Sign,SignReg}.py`):
///
///     x (binarised) → Linear(D→H) → ReLU → Linear(H→K) = U → binarizer → B
///     B → Linear(K→H) → ReLU → Linear(H→D) → Sigmoid = x̂,      L = BCE(x̂, x) [+ α·L_reg(B) for Sign+Reg]
///
/// The model keeps the encoder only; codes are sign(U).
enum AutoencoderRecipe {
    static func train(features x: Tensor<Float>, configuration c: TrainingConfiguration,
                      progress: TrainingProgress?) throws -> TrainingResult {
        let d = x.cols, h = c.hiddenUnits, k = c.bits
        var rng = SeededGenerator(seed: c.seed)
        let firstLayer = Linear<Float>(d, h, name: "encoder.0", using: &rng)
        firstLayer.computesInputGradient = false  // the images are fixed inputs
        let encoder = Sequential<Float>([
            firstLayer, ReLU<Float>(),
            Linear<Float>(h, k, name: "encoder.2", using: &rng),
        ])
        let decoder = Sequential<Float>([
            Linear<Float>(k, h, name: "decoder.0", using: &rng), ReLU<Float>(),
            Linear<Float>(h, d, name: "decoder.2", using: &rng), Sigmoid<Float>(),
        ])
        let binarizer = EpochLoop.makeBinarizer(c)
        let preprocessing = InputPreprocessing.minMaxRound
        let input = preprocessing.apply(x)  // binarised once; the targets are the binarised images too
        let bce = BinaryCrossEntropyLoss<Float>()
        let alpha = Float(c.regularizerWeight)

        let reports = try EpochLoop.run(sampleCount: x.rows, configuration: c,
                                        parameters: encoder.parameters + decoder.parameters, progress: progress) { batch in
            let xb = input.gatherRows(batch)
            let u = try encoder.forward(xb, training: true)
            let b = try binarizer.forward(u, training: true)
            let reconstruction = try decoder.forward(b, training: true)
            var loss = Double(try bce.forward(reconstruction, target: xb))
            var gradB = try decoder.backward(try bce.backward())
            if c.method == .signreg {  // L = BCE + α·L_reg(B); the gradient reaches U straight through the sign
                loss += Double(alpha * BitBalanceRegularizer.value(b))
                try gradB.add(BitBalanceRegularizer.gradient(b), scaledBy: alpha)
            }
            if c.method == .greedyhash {
                loss += Double(Float(c.quantizationWeight) * CubicQuantizationPenalty.value(u))
            }
            var gradU = try binarizer.backward(gradB)
            if c.method == .greedyhash { try gradU.add(CubicQuantizationPenalty.gradient(u), scaledBy: Float(c.quantizationWeight)) }
            _ = try encoder.backward(gradU)
            return loss
        }
        let model = try HashModel(method: c.method, bits: k, inputDimension: d, preprocessing: preprocessing,
                                  encoder: encoder, metadata: trainingMetadata(c))
        return TrainingResult(model: model, epochs: reports)
    }
}

/// The configuration facts stored with every trained model.
func trainingMetadata(_ c: TrainingConfiguration) -> [String: String] {
    var m: [String: String] = [
        "recipe": c.recipe.rawValue, "seed": String(c.seed),
    ]
    if c.method.isDeep {
        m["epochs"] = String(c.epochs)
        m["batch_size"] = String(c.batchSize)
        m["optimizer"] = c.optimizer.rawValue
        m["learning_rate"] = String(c.learningRate)
        m["gamma"] = String(c.effectiveGamma)
    }
    if c.method == .itq { m["itq_iterations"] = String(c.itqIterations) }
    return m
}
