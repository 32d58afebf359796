import BihashCore
import BihashNN
import Foundation
import Testing
import _BihashTestSupport
@testable import BihashMethods

/// GreedyHash's default `features` training against the PyTorch reference (tools/reference/greedyhash_reference.py),
/// which trains with ALGORITHMS.md's recipe (the SDC repo's trainer, §2.3/§2.5: Adam 1e-4, weight decay 1e-5,
/// batch 64, StepLR ×0.1 at int(0.8·epochs)) from the same initial head and the same per-epoch sample orders.
/// With the bi-half head's Adam 1e-3, batch 32 (bihash's GreedyHash default until this test), the head moved ~10×
/// too far per epoch and lost 9–17 mAP@1000 points on EfficientNet-Lite0 features.
@Suite struct GreedyHashTests {
    @Test func defaultFeatureRecipeTrainsLikeTheReference() throws {
        let n = 256, d = 24, k = 8, epochs = 5
        // ReLU-like non-negative features, as a backbone's (EfficientNet-Lite0 ends in ReLU6).
        let (raw, _) = TrainingTests.clustered(n: n, d: d, clusters: 4, seed: 5)
        let x = raw.map { max(0, $0) }
        var c = TrainingConfiguration(method: .greedyhash, bits: k)
        c.scaleMilestones(toEpochs: epochs)
        c.seed = 7
        let result = try Trainer.train(features: x, configuration: c)
        let head = try #require(result.model.encoder.layers.first as? Linear<Float>)

        // The recipe's initial head (seeded as FeatureHashingRecipe does) and the epoch loop's sample orders.
        var rng = SeededGenerator(seed: c.seed)
        let initial = Linear<Float>(d, k, name: "hash", using: &rng)
        var orders = SeededGenerator(seed: c.seed &+ 1)
        let permutations = (0..<epochs).map { _ in orders.permutation(n) }
        func nested(_ t: Tensor<Float>) -> [[Double]] { (0..<t.rows).map { t.row($0).map(Double.init) } }
        let ref = try PythonReference.run("greedyhash_reference.py", input: [
            "op": "train", "x": nested(x), "w": nested(initial.weight.value),
            "b": initial.bias.value.scalars.map(Double.init), "permutations": permutations,
        ])

        // Compare how far each parameter moved: ~1e-4 per step under the reference's recipe.
        let start = initial.weight.value.scalars.map(Double.init) + initial.bias.value.scalars.map(Double.init)
        let trained = head.weight.value.scalars.map(Double.init) + head.bias.value.scalars.map(Double.init)
        let reference = ((ref["w"] as? [Any]) ?? []).flatMap { PythonReference.doubles($0) } + PythonReference.doubles(ref["b"])
        try #require(reference.count == start.count)
        let moved = zip(trained, start).map { $0 - $1 }, refMoved = zip(reference, start).map { $0 - $1 }
        let scale = refMoved.map(abs).max() ?? 0
        #expect(scale > 1e-4, "the reference head barely moved: \(scale)")
        let worst = zip(moved, refMoved).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-3 * scale, "largest difference in parameter movement \(worst) vs reference movement \(scale)")

        let losses = PythonReference.doubles(ref["losses"])
        try #require(losses.count == epochs && result.epochs.count == epochs)
        for (e, report) in result.epochs.enumerated() {
            #expect(abs(report.loss - losses[e]) <= 1e-6 * max(1, abs(losses[e])), "epoch \(e + 1): loss \(report.loss) vs reference \(losses[e])")
            #expect(abs(report.learningRate - (e < 4 ? 1e-4 : 1e-5)) < 1e-12, "epoch \(e + 1): learning rate \(report.learningRate)")
        }
    }
}
