import BihashCore
import BihashNN
import Testing

// Behaviour beyond gradients: BatchNorm's running statistics and buffers, Dropout's masks, error paths,
// and Float32 forward/backward ≈ Double.

@Suite struct BatchNormBehaviourTests {
    @Test func evalUsesRunningStatistics() throws {
        let bn = BatchNorm1d<Double>(3, name: "head.bn")
        #expect(bn.buffers.map(\.name) == ["head.bn.running_mean", "head.bn.running_var"])
        #expect(bn.parameters.map(\.name) == ["head.bn.weight", "head.bn.bias"])
        for s in 0..<4 { _ = try bn.forward(randomTensor([8, 3], seed: 300 + UInt64(s), scale: 2, shift: 3), training: true) }
        #expect(bn.numBatchesTracked == 4)
        let rm = bn.runningMean.value.scalars, rv = bn.runningVar.value.scalars
        #expect(rm.allSatisfy { $0 > 0.5 })  // moved from 0 towards the data mean 3
        // Eval is a fixed affine map of each row: a single row gives the same result alone or in a batch.
        let x = randomTensor([4, 3], seed: 310)
        let y = try bn.forward(x, training: false)
        let yRow = try bn.forward(x.rows(2..<3), training: false)
        for j in 0..<3 {
            #expect(abs(y[2, j] - yRow[0, j]) < 1e-15)
            #expect(abs(y[0, j] - (x[0, j] - rm[j]) / (rv[j] + 1e-5).squareRoot()) < 1e-12)
        }
        // Eval leaves the running statistics alone and caches nothing for backward.
        #expect(bn.runningMean.value.scalars == rm && bn.numBatchesTracked == 4)
        #expect(try bn.forward(x, training: true).scalars != y.scalars)
    }

    @Test func trainingNeedsTwoSamples() throws {
        let bn = BatchNorm1d<Float>(3)
        #expect(throws: BihashError.self) { try bn.forward(Tensor(zeros: [1, 3]), training: true) }
        #expect(try bn.forward(Tensor(zeros: [1, 3]), training: false).shape == [1, 3])
        #expect(throws: BihashError.self) { try bn.forward(Tensor(zeros: [4, 2]), training: true) }
    }

    @Test func sequentialCollectsBuffers() throws {
        var rng = SeededGenerator(seed: 1)
        let net = Sequential<Float>([Linear(4, 3, name: "l", using: &rng), BatchNorm1d(3, name: "bn"), ReLU()])
        #expect(net.buffers.map(\.name) == ["bn.running_mean", "bn.running_var"])
        #expect(net.parameters.map(\.name) == ["l.weight", "l.bias", "bn.weight", "bn.bias"])
        #expect(net.summary == "Linear(4→3) → BatchNorm1d(3) → ReLU")
    }
}

@Suite struct DropoutBehaviourTests {
    @Test func masksAreSeededScaledAndIdentityInEval() throws {
        let x = Tensor<Float>(zeros: [100, 100], value: 1)
        let a = try Dropout<Float>(probability: 0.25, seed: 9), b = try Dropout<Float>(probability: 0.25, seed: 9)
        let ya = try a.forward(x, training: true), yb = try b.forward(x, training: true)
        #expect(ya == yb)
        #expect(ya.scalars.allSatisfy { $0 == 0 || abs($0 - 1 / 0.75) < 1e-6 })
        let kept = Double(ya.scalars.filter { $0 != 0 }.count) / 10_000
        #expect(abs(kept - 0.75) < 0.02)  // 10 000 Bernoulli(0.75) draws: σ ≈ 0.004
        #expect(try a.forward(x, training: true) != ya)  // a new mask each forward
        #expect(try a.forward(x, training: false) == x)
        #expect(try Dropout<Float>(probability: 0, seed: 1).forward(x, training: true) == x)
        #expect(try Dropout<Float>(probability: 1, seed: 1).forward(x, training: true).scalars.allSatisfy { $0 == 0 })
        #expect(throws: BihashError.self) { try Dropout<Float>(probability: 1.5, seed: 1) }
    }
}

@Suite struct ErrorPathTests {
    @Test func backwardBeforeForwardIsAnError() throws {
        var rng = SeededGenerator(seed: 1)
        let layers: [any Layer<Float>] = [Linear(2, 2, using: &rng), ReLU(), GELU(), Tanh(), Sigmoid(), BatchNorm1d(2),
                                          try Dropout(probability: 0.5, seed: 1)]
        for layer in layers {
            #expect(throws: BihashError.self, "\(layer.summary)") { try layer.backward(Tensor(zeros: [2, 2])) }
            _ = try layer.forward(Tensor(zeros: [2, 2], value: 0.5), training: false)  // eval does not enable backward
            #expect(throws: BihashError.self, "\(layer.summary)") { try layer.backward(Tensor(zeros: [2, 2])) }
            _ = try layer.forward(Tensor(zeros: [2, 2], value: 0.5), training: true)
            #expect(throws: BihashError.self, "\(layer.summary) wrong gradient shape") { try layer.backward(Tensor(zeros: [3, 2])) }
        }
        let losses: [any Loss<Float>] = [MeanSquaredErrorLoss(), BinaryCrossEntropyLoss(), CosineSimilarityPreservationLoss()]
        for loss in losses { #expect(throws: BihashError.self, "\(loss.summary)") { try loss.backward() } }
    }

    @Test func lossInputsAreValidated() {
        let bce = BinaryCrossEntropyLoss<Float>()
        #expect(throws: BihashError.self) { try bce.forward(Tensor(zeros: [2, 2], value: 1.5), target: Tensor(zeros: [2, 2])) }
        #expect(throws: BihashError.self) { try bce.forward(Tensor(zeros: [2, 2], value: .nan), target: Tensor(zeros: [2, 2])) }
        #expect(throws: BihashError.self) { try bce.forward(Tensor(zeros: [2, 2]), target: Tensor(zeros: [2, 3])) }
        #expect(throws: BihashError.self) { try MeanSquaredErrorLoss<Float>().forward(Tensor(zeros: [2]), target: Tensor(zeros: [3])) }
        let cos = CosineSimilarityPreservationLoss<Float>()
        #expect(throws: BihashError.self) { try cos.forward(codes: Tensor(zeros: [1, 4]), features: Tensor(zeros: [1, 8])) }
        #expect(throws: BihashError.self) { try cos.forward(codes: Tensor(zeros: [4, 4]), features: Tensor(zeros: [5, 8])) }
        #expect(throws: BihashError.self) { try cos.forward(codes: Tensor(zeros: [4, 4]), targetSimilarity: Tensor(zeros: [3])) }
        #expect(throws: BihashError.self) { try RowCosineSimilarity<Float>().forward(Tensor(zeros: [2, 3]), Tensor(zeros: [2, 4])) }
    }
}

/// `forward(_:training: false)` only reads a layer (the `Layer` contract that lets `HashModel.encode` run on
/// several threads at once): no parameter, buffer, gradient, counter, random state or backward cache changes.
@Suite struct EvalForwardTests {
    /// Linear, BatchNorm, GELU, Dropout, ReLU, Linear, Tanh, Sigmoid from fixed seeds.
    static func network() throws -> (Sequential<Double>, BatchNorm1d<Double>, Dropout<Double>) {
        var rng = SeededGenerator(seed: 500)
        let bn = BatchNorm1d<Double>(6, name: "bn"), dropout = try Dropout<Double>(probability: 0.3, seed: 9)
        let net = Sequential<Double>([Linear(5, 6, name: "l0", using: &rng), bn, GELU(), dropout, ReLU(),
                                      Linear(6, 4, name: "l1", using: &rng), Tanh(), Sigmoid()])
        return (net, bn, dropout)
    }

    @Test func evalForwardOnlyReadsTheLayers() throws {
        let x = randomTensor([8, 5], seed: 501), dy = randomTensor([8, 4], seed: 502)
        // Reference: a training forward, then backward.
        let (reference, _, _) = try Self.network()
        _ = try reference.forward(x, training: true)
        reference.zeroGrad()
        _ = try reference.backward(dy)
        // The same training forward, then eval forwards of other shapes, then backward.
        let (net, bn, dropout) = try Self.network()
        _ = try net.forward(x, training: true)
        func state() -> [[Double]] { (net.parameters + net.buffers).map(\.value.scalars) + [dropout.mask?.scalars ?? []] }
        let before = state(), tracked = bn.numBatchesTracked
        var generator = dropout.generator
        let evalIn = randomTensor([3, 5], seed: 503)
        let first = try net.forward(evalIn, training: false)
        for _ in 0..<3 { #expect(try net.forward(evalIn, training: false) == first) }
        _ = try net.forward(randomTensor([1, 5], seed: 504), training: false)
        #expect(state() == before)
        #expect(bn.numBatchesTracked == tracked)
        #expect(dropout.generator.next() == generator.next())  // eval draws no random numbers
        net.zeroGrad()
        _ = try net.backward(dy)  // the caches are still the training forward's (an eval cache would be [1, …])
        #expect(net.parameters.map(\.grad) == reference.parameters.map(\.grad))
    }
}

@Suite struct PrecisionTests {
    /// The same network in Double and (converted) Float.
    static func networks() -> (Sequential<Double>, Sequential<Float>) {
        var rng = SeededGenerator(seed: 400)
        let d = Sequential<Double>([Linear(12, 8, name: "l0", using: &rng), BatchNorm1d(8, name: "bn"), GELU(), ReLU(),
                                    Linear(8, 6, name: "l1", using: &rng), Tanh(), Linear(6, 5, name: "l2", using: &rng), Sigmoid()])
        var rng2 = SeededGenerator(seed: 0)
        let f = Sequential<Float>([Linear(12, 8, name: "l0", using: &rng2), BatchNorm1d(8, name: "bn"), GELU(), ReLU(),
                                   Linear(8, 6, name: "l1", using: &rng2), Tanh(), Linear(6, 5, name: "l2", using: &rng2), Sigmoid()])
        for (pd, pf) in zip(d.parameters, f.parameters) { pf.value = pd.value.converted(to: Float.self) }
        return (d, f)
    }

    @Test func floatForwardAndBackwardMatchDouble() throws {
        let (netD, netF) = Self.networks()
        let x = randomTensor([16, 12], seed: 401)
        let target = uniformTensor([16, 5], seed: 402, low: 0, high: 1)
        let yD = try netD.forward(x, training: true)
        let yF = try netF.forward(x.converted(to: Float.self), training: true)
        expectClose(yF.converted(to: Double.self).scalars, yD.scalars, rtol: 1e-5, atol: 1e-6, "Float vs Double forward (train)")
        let bceD = BinaryCrossEntropyLoss<Double>(), bceF = BinaryCrossEntropyLoss<Float>()
        let lD = try bceD.forward(yD, target: target), lF = try bceF.forward(yF, target: target.converted(to: Float.self))
        expectClose([Double(lF)], [lD], rtol: 1e-5, atol: 1e-6, "Float vs Double BCE")
        let dxD = try netD.backward(try bceD.backward()), dxF = try netF.backward(try bceF.backward())
        expectClose(dxF.converted(to: Double.self).scalars, dxD.scalars, rtol: 1e-3, atol: 1e-6, "Float vs Double dx")
        for (pd, pf) in zip(netD.parameters, netF.parameters) {
            expectClose(pf.grad.converted(to: Double.self).scalars, pd.grad.scalars, rtol: 1e-3, atol: 1e-6, "Float vs Double d\(pd.name)")
        }
        let evalD = try netD.forward(x, training: false), evalF = try netF.forward(x.converted(to: Float.self), training: false)
        expectClose(evalF.converted(to: Double.self).scalars, evalD.scalars, rtol: 1e-5, atol: 1e-6, "Float vs Double forward (eval)")
    }

    @Test func floatCosinePreservationMatchesDouble() throws {
        let codes = randomTensor([10, 16], seed: 403), features = randomTensor([10, 64], seed: 404)
        let lD = CosineSimilarityPreservationLoss<Double>(), lF = CosineSimilarityPreservationLoss<Float>()
        let vD = try lD.forward(codes: codes, features: features)
        let vF = try lF.forward(codes: codes.converted(to: Float.self), features: features.converted(to: Float.self))
        expectClose([Double(vF)], [vD], rtol: 1e-5, atol: 1e-7, "Float vs Double cos loss")
        expectClose(try lF.backward().converted(to: Double.self).scalars, try lD.backward().scalars, rtol: 1e-4, atol: 1e-6, "Float vs Double cos grad")
    }
}

@Test func linearWithoutInputGradientStillAccumulatesParameterGradients() throws {
    var rng = SeededGenerator(seed: 5)
    var rng2 = SeededGenerator(seed: 5)
    let full = Linear<Double>(6, 3, using: &rng)
    let trimmed = Linear<Double>(6, 3, using: &rng2)
    trimmed.computesInputGradient = false
    var data = SeededGenerator(seed: 6)
    let x = Tensor<Double>.normal([4, 6], using: &data), g = Tensor<Double>.normal([4, 3], using: &data)
    _ = try full.forward(x, training: true)
    _ = try trimmed.forward(x, training: true)
    let dx = try full.backward(g)
    let none = try trimmed.backward(g)
    #expect(dx.shape == [4, 6])
    #expect(none.shape == [4, 0])
    #expect(full.weight.grad == trimmed.weight.grad)
    #expect(full.bias.grad == trimmed.bias.grad)
}
