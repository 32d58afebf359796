import BihashCore
import BihashNN
import Testing

// Central-difference gradient checks in Double at PyTorch gradcheck's defaults (step 1e-6, atol 1e-5,
// rtol 1e-3) for every layer: the input gradient and every parameter gradient.

@Suite struct LayerGradientTests {
    /// [N, D] inputs kept away from ReLU's kink at 0 (|x| ≥ 0.05) so the finite differences never straddle it.
    static func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor<Double> {
        var x = randomTensor(shape, seed: seed)
        for i in 0..<x.count where abs(x.scalars[i]) < 0.05 { x.scalars[i] += x.scalars[i] < 0 ? -0.1 : 0.1 }
        return x
    }

    @Test func linear() throws {
        var rng = SeededGenerator(seed: 1)
        let layer = Linear<Double>(5, 3, name: "fc", using: &rng)
        let results = try GradientCheck.checkLayer(layer, input: randomTensor([4, 5], seed: 2))
        #expect(results.map(\.name) == ["input", "fc.weight", "fc.bias"])
        expectGradientsPass(results, "Linear")
    }

    @Test func relu() throws {
        expectGradientsPass(try GradientCheck.checkLayer(ReLU<Double>(), input: Self.awayFromZero([4, 6], seed: 3)), "ReLU")
    }

    @Test func gelu() throws {
        expectGradientsPass(try GradientCheck.checkLayer(GELU<Double>(), input: randomTensor([4, 6], seed: 4, scale: 2)), "GELU")
    }

    @Test func tanh() throws {
        expectGradientsPass(try GradientCheck.checkLayer(Tanh<Double>(), input: randomTensor([4, 6], seed: 5, scale: 2)), "Tanh")
    }

    @Test func sigmoid() throws {
        expectGradientsPass(try GradientCheck.checkLayer(Sigmoid<Double>(), input: randomTensor([4, 6], seed: 6, scale: 3)), "Sigmoid")
    }

    @Test func batchNormTraining() throws {
        let bn = BatchNorm1d<Double>(3, name: "bn")
        // Non-trivial γ, β so their gradients and the γ factor in dx are exercised.
        bn.weight.value = try Tensor(shape: [3], scalars: [1.5, -0.7, 0.3])
        bn.bias.value = try Tensor(shape: [3], scalars: [0.1, 0.2, -0.3])
        let results = try GradientCheck.checkLayer(bn, input: randomTensor([5, 3], seed: 7, scale: 2, shift: 1))
        #expect(results.map(\.name) == ["input", "bn.weight", "bn.bias"])
        expectGradientsPass(results, "BatchNorm1d(train)")
    }

    @Test func batchNormTrainingOddSmallBatch() throws {
        // N = 2 is the smallest training batch; N = 3 odd.
        for n in [2, 3] {
            let bn = BatchNorm1d<Double>(4)
            expectGradientsPass(try GradientCheck.checkLayer(bn, input: randomTensor([n, 4], seed: UInt64(10 + n))), "BatchNorm1d(N=\(n))")
        }
    }

    @Test func dropoutWithFixedMask() throws {
        let dropout = try Dropout<Double>(probability: 0.4, seed: 8)
        let start = dropout.generator
        // Restoring the generator before every forward gives every pass the same mask.
        let results = try GradientCheck.checkLayer(dropout, input: randomTensor([5, 4], seed: 9)) { dropout.generator = start }
        expectGradientsPass(results, "Dropout")
        let mask = try #require(dropout.mask)
        #expect(mask.scalars.contains(0) && mask.scalars.contains(1 / 0.6))
    }

    @Test func sequentialNetwork() throws {
        var rng = SeededGenerator(seed: 11)
        let net = Sequential<Double>([
            Linear(6, 5, name: "l0", using: &rng), BatchNorm1d(5, name: "bn"), GELU(),
            Linear(5, 4, name: "l1", using: &rng), Tanh(), Linear(4, 3, name: "l2", using: &rng), Sigmoid(),
        ])
        let results = try GradientCheck.checkLayer(net, input: randomTensor([6, 6], seed: 12))
        #expect(results.count == 1 + 8)
        expectGradientsPass(results, "Sequential")
    }

    @Test func gradientCheckCatchesAWrongGradient() throws {
        // A layer whose backward is off by a factor 2 must fail the check (the checker is not vacuous).
        final class WrongDouble: Layer {
            typealias Scalar = Double
            func forward(_ x: Tensor<Double>, training: Bool) throws -> Tensor<Double> { x * 3 }
            func backward(_ g: Tensor<Double>) throws -> Tensor<Double> { g * 6 }
            var summary: String { "Wrong" }
        }
        let results = try GradientCheck.checkLayer(WrongDouble(), input: randomTensor([2, 3], seed: 13))
        #expect(!results[0].passed)
        #expect(abs(results[0].maxRelError - 1) < 1e-6)
    }
}
