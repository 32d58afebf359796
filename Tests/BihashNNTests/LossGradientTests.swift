import BihashCore
import BihashNN
import Testing

// Gradient checks for the losses and the row-wise cosine helper, including odd N and zero vectors.

@Suite struct LossGradientTests {
    @Test func meanSquaredError() throws {
        let r = try GradientCheck.checkLoss(MeanSquaredErrorLoss<Double>(), prediction: randomTensor([4, 5], seed: 20),
                                            target: randomTensor([4, 5], seed: 21))
        expectGradientsPass([r], "MSE")
    }

    @Test func binaryCrossEntropy() throws {
        let p = uniformTensor([4, 5], seed: 22, low: 0.05, high: 0.95)
        var t = uniformTensor([4, 5], seed: 23, low: 0, high: 1)
        for i in 0..<t.count where i % 3 == 0 { t.scalars[i] = t.scalars[i] < 0.5 ? 0 : 1 }  // hard and soft targets
        expectGradientsPass([try GradientCheck.checkLoss(BinaryCrossEntropyLoss<Double>(), prediction: p, target: t)], "BCE")
    }

    @Test func binaryCrossEntropyClampsLogAtMinus100() throws {
        // p = 0 with t = 1: log 0 = −∞ is clamped to −100, so the loss is 100/M and finite (PyTorch).
        let bce = BinaryCrossEntropyLoss<Double>()
        let loss = try bce.forward(try Tensor(shape: [1, 2], scalars: [0, 1]), target: try Tensor(shape: [1, 2], scalars: [1, 1]))
        #expect(abs(loss - 50) < 1e-12)
        let g = try bce.backward()
        #expect(g.isFinite)
        #expect(abs(g.scalars[0] - (-1 / 1e-12 / 2)) < 1)  // (p − t)/max(p(1 − p), 1e−12)/M
    }

    @Test(arguments: [6, 7])
    func cosinePreservation(n: Int) throws {
        let codes = randomTensor([n, 4], seed: UInt64(30 + n))
        let features = randomTensor([n, 9], seed: UInt64(40 + n))
        let loss = CosineSimilarityPreservationLoss<Double>()
        let r = try GradientCheck.checkLoss(loss, prediction: codes, target: features)
        expectGradientsPass([r], "CosinePreservation(N=\(n))")
        if n % 2 == 1 {  // the dropped last row gets no gradient
            let g = try loss.backward()
            #expect(g.shape == [n, 4])
            #expect(g.scalars[((n - 1) * 4)...].allSatisfy { $0 == 0 })
        }
    }

    @Test func cosinePreservationWithZeroFeatureRow() throws {
        // A zero feature row makes its target cos 0 (eps-clamped norm), not NaN; the gradient check still holds.
        var features = randomTensor([6, 5], seed: 50)
        for j in 0..<5 { features[1, j] = 0 }
        let target = try CosineSimilarityPreservationLoss<Double>.targetSimilarity(features)
        #expect(target.isFinite && target.scalars[1] == 0)
        let r = try GradientCheck.checkLoss(CosineSimilarityPreservationLoss<Double>(), prediction: randomTensor([6, 3], seed: 51), target: features)
        expectGradientsPass([r], "CosinePreservation(zero feature row)")
    }

    @Test func cosinePreservationWithZeroCodeRow() throws {
        // A zero code row sits inside the eps clamp (‖b‖ < 1e−8), where cos is linear in that row with slope
        // b̂/eps ≈ 1e8. Steps of 1e−10 stay inside the clamp, so central differences are exact there.
        var codes = randomTensor([6, 3], seed: 52)
        for j in 0..<3 { codes[0, j] = 0 }
        let loss = CosineSimilarityPreservationLoss<Double>()
        let value = try loss.forward(codes: codes, features: randomTensor([6, 5], seed: 53))
        #expect(value.isFinite)
        let r = try GradientCheck.checkLoss(loss, prediction: codes, target: randomTensor([6, 5], seed: 53), step: 1e-10)
        expectGradientsPass([r], "CosinePreservation(zero code row)")
    }

    @Test func rowCosineSimilarity() throws {
        let a = randomTensor([4, 5], seed: 60), b = randomTensor([4, 5], seed: 61)
        let r = randomTensor([4], seed: 62)
        let cosine = RowCosineSimilarity<Double>()
        let c = try cosine.forward(a, b)
        let (da, db) = try cosine.backward(r)
        // Σ r ⊙ cos(a, b) as a function of a, then of b.
        func projected(_ x: Tensor<Double>, _ y: Tensor<Double>) throws -> Double {
            let v = try RowCosineSimilarity.cosine(x, y)
            return zip(v.scalars, r.scalars).reduce(0) { $0 + $1.0 * $1.1 }
        }
        expectGradientsPass([try GradientCheck.check("a", at: a, analyticGradient: da) { try projected($0, b) },
                             try GradientCheck.check("b", at: b, analyticGradient: db) { try projected(a, $0) }], "RowCosine")
        #expect(c.scalars.allSatisfy { abs($0) <= 1 })
        // cos(a, a) = 1 and cos(a, −a) = −1.
        #expect(try RowCosineSimilarity.cosine(a, a).scalars.allSatisfy { abs($0 - 1) < 1e-14 })
        #expect(try RowCosineSimilarity.cosine(a, a * -1).scalars.allSatisfy { abs($0 + 1) < 1e-14 })
    }

    @Test func rowCosineSimilarityZeroRows() throws {
        var a = randomTensor([3, 4], seed: 63), b = randomTensor([3, 4], seed: 64)
        for j in 0..<4 { a[0, j] = 0; b[2, j] = 0 }
        for j in 0..<4 { b[1, j] = 0; a[1, j] = 0 }  // both zero
        let cosine = RowCosineSimilarity<Double>()
        let c = try cosine.forward(a, b)
        #expect(c.scalars == [0, 0, 0])
        let r = try Tensor<Double>(shape: [3], scalars: [0.5, -1.0, 2.0])
        let (da, db) = try cosine.backward(r)
        #expect(da.isFinite && db.isFinite)
        func projected(_ x: Tensor<Double>, _ y: Tensor<Double>) throws -> Double {
            zip(try RowCosineSimilarity.cosine(x, y).scalars, r.scalars).reduce(0) { $0 + $1.0 * $1.1 }
        }
        // Steps below eps keep the zero rows inside the clamp (see cosinePreservationWithZeroCodeRow).
        expectGradientsPass([try GradientCheck.check("a", at: a, analyticGradient: da, step: 1e-10) { try projected($0, b) },
                             try GradientCheck.check("b", at: b, analyticGradient: db, step: 1e-10) { try projected(a, $0) }],
                            "RowCosine(zero rows)")
    }
}
