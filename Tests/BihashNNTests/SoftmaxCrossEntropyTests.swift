import BihashCore
import BihashNN
import Foundation
import Testing
import _BihashTestSupport

/// Softmax cross-entropy (SHC's stage-1 classifier loss): finite differences, NumPy, stability, errors.
@Suite struct SoftmaxCrossEntropyTests {
    @Test func gradientMatchesFiniteDifferences() throws {
        let z = randomTensor([5, 4], seed: 70, scale: 2)
        let y = [0, 3, 1, 3, 2]
        let loss = SoftmaxCrossEntropyLoss<Double>()
        _ = try loss.forward(z, classes: y)
        let g = try loss.backward()
        let r = try GradientCheck.check("logits", at: z, analyticGradient: g) { try loss.forward($0, classes: y) }
        expectGradientsPass([r], "SoftmaxCE")
        // backward(scale:) scales (the check left the cache at a perturbed input: forward again).
        _ = try loss.forward(z, classes: y)
        let g3 = try loss.backward(scale: 3)
        #expect(try g3.maxAbsDifference(g * 3) < 1e-15)
    }

    @Test func matchesNumPy() throws {
        let z = randomTensor([7, 6], seed: 71, scale: 3)
        let y = [5, 0, 2, 2, 4, 1, 3]
        let loss = SoftmaxCrossEntropyLoss<Float>()
        let value = try loss.forward(z.converted(to: Float.self), classes: y)
        let grad = try loss.backward()
        let ref = try PythonReference.run("shc_loss.py", input: [
            "op": "softmax_ce", "z": (0..<z.rows).map { Array(z.row($0)) }, "y": y])
        #expect(abs(Double(value) - (ref["loss"] as! Double)) < 1e-5)
        let refGrad = ((ref["grad"] as? [Any]) ?? []).flatMap { PythonReference.doubles($0) }
        expectClose(grad.scalars.map(Double.init), refGrad, rtol: 1e-4, atol: 1e-6, "SoftmaxCE grad vs NumPy")
    }

    @Test func isStableForHugeLogitsAndRejectsBadTargets() throws {
        let loss = SoftmaxCrossEntropyLoss<Float>()
        let z = try Tensor<Float>(shape: [2, 3], scalars: [1000, -1000, 0, -500, 500, 499])
        let value = try loss.forward(z, classes: [0, 2])
        #expect(value.isFinite)
        #expect(abs(value - (0 + (1 + log(1 + exp(-1)))) / 2) < 1e-4)  // row 2: logsumexp − 499 = 1 + log(1 + e⁻¹)
        #expect(try loss.backward().scalars.allSatisfy(\.isFinite))
        #expect(throws: BihashError.self) { _ = try loss.forward(z, classes: [0, 3]) }
        #expect(throws: BihashError.self) { _ = try loss.forward(z, classes: [-1, 0]) }
        #expect(throws: BihashError.self) { _ = try loss.forward(z, classes: [0]) }
        #expect(throws: BihashError.self) { _ = try SoftmaxCrossEntropyLoss<Float>().backward() }
    }
}
