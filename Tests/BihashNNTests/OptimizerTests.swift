import BihashCore
import BihashNN
import Foundation
import Testing
import _BihashTestSupport

// Optimizer steps against hand-computed values and against nn_reference.py (torch.optim formulas in NumPy).

@Suite struct OptimizerTests {
    /// Two parameters and three steps of fixed gradients.
    static func fixture() throws -> (params: [Parameter<Double>], grads: [[[Double]]]) {
        let p0 = Parameter(name: "w", value: randomTensor([2, 3], seed: 200))
        let p1 = Parameter(name: "b", value: randomTensor([3], seed: 201))
        let grads = (0..<3).map { s in
            [randomTensor([2, 3], seed: 210 + UInt64(s)).scalars, randomTensor([3], seed: 220 + UInt64(s)).scalars]
        }
        return ([p0, p1], grads)
    }

    /// Runs `optimizer` over the fixture's gradients and compares every step with the reference.
    static func compare(_ optimizer: any Optimizer<Double>, _ params: [Parameter<Double>], grads: [[[Double]]],
                        reference request: [String: Any], label: String) throws {
        var req = request
        req["params"] = params.map { $0.value.scalars }
        req["grads"] = grads
        let ref = try nnReference(req)
        let history = try #require(ref["params"] as? [[Any]])
        #expect(history.count == grads.count)
        for (step, g) in grads.enumerated() {
            for (p, gi) in zip(params, g) { p.grad = Tensor(uncheckedShape: p.value.shape, scalars: gi) }
            try optimizer.step()
            for (i, p) in params.enumerated() {
                expectClose(p.value.scalars, PythonReference.doubles(history[step][i]), rtol: 1e-12, atol: 1e-14,
                            "\(label) step \(step + 1) \(p.name)")
            }
        }
    }

    @Test func sgdByHand() throws {
        // θ = 1, g = 0.5, lr 0.1, wd 0.01, momentum 0.9: step 1 buf = g + wd·θ = 0.51, θ = 1 − 0.051 = 0.949;
        // step 2 (same g) buf = 0.9·0.51 + (0.5 + 0.01·0.949) = 0.96849, θ = 0.949 − 0.096849 = 0.852151.
        let p = Parameter(name: "θ", value: Tensor<Double>(zeros: [1], value: 1))
        let sgd = try SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        p.grad = Tensor(zeros: [1], value: 0.5)
        try sgd.step()
        #expect(abs(p.value.scalars[0] - 0.949) < 1e-15)
        try sgd.step()
        #expect(abs(p.value.scalars[0] - 0.852151) < 1e-15)
    }

    @Test func adamFirstStepByHand() throws {
        // After one step m̂ = g and v̂ = g², so Δθ = −lr·g/(|g| + eps) ≈ −lr·sign(g) whatever |g| is.
        let p = Parameter(name: "θ", value: try Tensor<Double>(shape: [3], scalars: [1, 2, 3]))
        let adam = try Adam(parameters: [p], learningRate: 0.01)
        p.grad = try Tensor(shape: [3], scalars: [1e-3, -5, 100])
        try adam.step()
        let expected = [1 - 0.01 * 1e-3 / (1e-3 + 1e-8), 2 + 0.01 * 5 / (5 + 1e-8), 3 - 0.01 * 100 / (100 + 1e-8)]
        expectClose(p.value.scalars, expected, rtol: 1e-12, atol: 0, "Adam step 1")
        #expect(adam.stepCount == 1)
    }

    @Test func sgdMomentumWeightDecay() throws {
        let (params, grads) = try Self.fixture()
        let sgd = try SGD(parameters: params, learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)
        try Self.compare(sgd, params, grads: grads, reference: ["op": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4], label: "SGD")
    }

    @Test func sgdNesterovAndDampening() throws {
        let (params, grads) = try Self.fixture()
        try Self.compare(try SGD(parameters: params, learningRate: 0.1, momentum: 0.8, nesterov: true), params, grads: grads,
                         reference: ["op": "sgd", "lr": 0.1, "momentum": 0.8, "nesterov": true], label: "SGD(nesterov)")
        let (params2, grads2) = try Self.fixture()
        try Self.compare(try SGD(parameters: params2, learningRate: 0.1, momentum: 0.5, dampening: 0.3), params2, grads: grads2,
                         reference: ["op": "sgd", "lr": 0.1, "momentum": 0.5, "dampening": 0.3], label: "SGD(dampening)")
    }

    @Test func plainSGD() throws {
        let (params, grads) = try Self.fixture()
        try Self.compare(try SGD(parameters: params, learningRate: 0.2), params, grads: grads,
                         reference: ["op": "sgd", "lr": 0.2], label: "SGD(plain)")
    }

    @Test func adamWithWeightDecay() throws {
        let (params, grads) = try Self.fixture()
        let adam = try Adam(parameters: params, learningRate: 1e-2, betas: (0.8, 0.95), weightDecay: 1e-2)
        try Self.compare(adam, params, grads: grads,
                         reference: ["op": "adam", "lr": 1e-2, "beta1": 0.8, "beta2": 0.95, "eps": 1e-8, "weight_decay": 1e-2], label: "Adam")
    }

    @Test func rmsprop() throws {
        let (params, grads) = try Self.fixture()
        try Self.compare(try RMSprop(parameters: params, learningRate: 1e-2, weightDecay: 1e-3), params, grads: grads,
                         reference: ["op": "rmsprop", "lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 1e-3], label: "RMSprop")
        let (params2, grads2) = try Self.fixture()
        try Self.compare(try RMSprop(parameters: params2, learningRate: 1e-2, alpha: 0.9, momentum: 0.5, centered: true),
                         params2, grads: grads2,
                         reference: ["op": "rmsprop", "lr": 1e-2, "alpha": 0.9, "eps": 1e-8, "momentum": 0.5, "centered": true],
                         label: "RMSprop(centered, momentum)")
    }

    @Test func floatAdamTracksDouble() throws {
        // The same three Adam steps in Float and Double agree to Float precision.
        let (params, grads) = try Self.fixture()
        let floatParams = params.map { Parameter(name: $0.name, value: $0.value.converted(to: Float.self)) }
        let adamD = try Adam(parameters: params, learningRate: 1e-2)
        let adamF = try Adam(parameters: floatParams, learningRate: Float(1e-2))
        for g in grads {
            for (i, gi) in g.enumerated() {
                params[i].grad = Tensor(uncheckedShape: params[i].value.shape, scalars: gi)
                floatParams[i].grad = Tensor(uncheckedShape: params[i].value.shape, scalars: gi.map { Float($0) })
            }
            try adamD.step(); try adamF.step()
        }
        for (pd, pf) in zip(params, floatParams) {
            expectClose(pf.value.converted(to: Double.self).scalars, pd.value.scalars, rtol: 1e-5, atol: 1e-6, "Adam Float vs Double \(pd.name)")
        }
    }

    @Test func learningRateIsSettableAndZeroGradClears() throws {
        let p = Parameter(name: "θ", value: Tensor<Float>(zeros: [2], value: 1))
        let sgd = try SGD(parameters: [p], learningRate: 1)
        sgd.learningRate = 0.5
        p.grad = Tensor(zeros: [2], value: 2)
        try sgd.step()
        #expect(p.value.scalars == [0, 0])
        sgd.zeroGrad()
        #expect(p.grad.scalars == [0, 0])
    }

    @Test func invalidArgumentsThrow() throws {
        let p = Parameter(name: "θ", value: Tensor<Double>(zeros: [2]))
        #expect(throws: BihashError.self) { try SGD(parameters: [p], learningRate: -1) }
        #expect(throws: BihashError.self) { try SGD(parameters: [p, p], learningRate: 0.1) }
        #expect(throws: BihashError.self) { try SGD(parameters: [p], learningRate: 0.1, nesterov: true) }
        #expect(throws: BihashError.self) { try Adam(parameters: [p], betas: (1.0, 0.999)) }
        #expect(throws: BihashError.self) { try Adam(parameters: [p], weightDecay: -1) }
        #expect(throws: BihashError.self) { try RMSprop(parameters: [p], alpha: 1.5) }
        // A parameter replaced by one of another size is reported, not indexed out of bounds.
        let adam = try Adam(parameters: [p])
        p.value = Tensor(zeros: [3]); p.zeroGrad()
        #expect(throws: BihashError.self) { try adam.step() }
    }
}
