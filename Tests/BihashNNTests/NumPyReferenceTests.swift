import BihashCore
import BihashNN
import Foundation
import Testing
import _BihashTestSupport

// Forward and backward of every layer and loss against tools/reference/nn_reference.py, a float64 NumPy
// re-computation written independently of the Swift code. Shapes are checked first, then values.

@Suite struct NumPyReferenceTests {
    static let x = randomTensor([5, 4], seed: 100, scale: 1.5)
    static let dy = randomTensor([5, 4], seed: 101)

    @Test(arguments: ["relu", "gelu", "tanh", "sigmoid"])
    func activation(op: String) throws {
        let layer: any Layer<Double> = switch op {
        case "relu": ReLU<Double>()
        case "gelu": GELU<Double>()
        case "tanh": Tanh<Double>()
        default: Sigmoid<Double>()
        }
        let y = try layer.forward(Self.x, training: true)
        let dx = try layer.backward(Self.dy)
        #expect(y.shape == Self.x.shape && dx.shape == Self.x.shape)
        let ref = try nnReference(["op": op, "x": Self.x.scalars, "shape": Self.x.shape, "dy": Self.dy.scalars])
        expectClose(y.scalars, PythonReference.doubles(ref["y"]), "\(op) y")
        expectClose(dx.scalars, PythonReference.doubles(ref["dx"]), "\(op) dx")
    }

    @Test func linear() throws {
        var rng = SeededGenerator(seed: 102)
        let layer = Linear<Double>(4, 3, using: &rng)
        let dy = randomTensor([5, 3], seed: 103)
        let y = try layer.forward(Self.x, training: true)
        let dx = try layer.backward(dy)
        #expect(y.shape == [5, 3] && dx.shape == [5, 4])
        let ref = try nnReference(["op": "linear", "x": Self.x.scalars, "shape": Self.x.shape, "weight": layer.weight.value.scalars,
                                   "bias": layer.bias.value.scalars, "dy": dy.scalars])
        expectClose(y.scalars, PythonReference.doubles(ref["y"]), "linear y")
        expectClose(dx.scalars, PythonReference.doubles(ref["dx"]), "linear dx")
        expectClose(layer.weight.grad.scalars, PythonReference.doubles(ref["dweight"]), "linear dW")
        expectClose(layer.bias.grad.scalars, PythonReference.doubles(ref["dbias"]), "linear db")
    }

    @Test func batchNormTrainingAndEval() throws {
        let bn = BatchNorm1d<Double>(4, name: "bn")
        bn.weight.value = try Tensor(shape: [4], scalars: [1.2, 0.8, -0.5, 2.0])
        bn.bias.value = try Tensor(shape: [4], scalars: [0.3, -0.1, 0.0, 1.0])
        bn.runningMean.value = try Tensor(shape: [4], scalars: [0.1, -0.2, 0.3, 0.0])
        bn.runningVar.value = try Tensor(shape: [4], scalars: [1.5, 0.7, 1.0, 2.0])
        let before: [String: Any] = ["gamma": bn.weight.value.scalars, "beta": bn.bias.value.scalars,
                                     "running_mean": bn.runningMean.value.scalars, "running_var": bn.runningVar.value.scalars,
                                     "eps": 1e-5, "momentum": 0.1]
        let y = try bn.forward(Self.x, training: true)
        let dx = try bn.backward(Self.dy)
        var request = before
        request.merge(["op": "batchnorm_train", "x": Self.x.scalars, "shape": Self.x.shape, "dy": Self.dy.scalars]) { $1 }
        let ref = try nnReference(request)
        expectClose(y.scalars, PythonReference.doubles(ref["y"]), "bn y")
        expectClose(dx.scalars, PythonReference.doubles(ref["dx"]), rtol: 1e-8, atol: 1e-11, "bn dx")
        expectClose(bn.weight.grad.scalars, PythonReference.doubles(ref["dgamma"]), "bn dγ")
        expectClose(bn.bias.grad.scalars, PythonReference.doubles(ref["dbeta"]), "bn dβ")
        expectClose(bn.runningMean.value.scalars, PythonReference.doubles(ref["running_mean"]), "bn running mean")
        expectClose(bn.runningVar.value.scalars, PythonReference.doubles(ref["running_var"]), "bn running var (unbiased)")

        // Eval with the updated running statistics.
        let x2 = randomTensor([3, 4], seed: 104)
        let yEval = try bn.forward(x2, training: false)
        let refEval = try nnReference(["op": "batchnorm_eval", "x": x2.scalars, "shape": x2.shape, "gamma": bn.weight.value.scalars,
                                       "beta": bn.bias.value.scalars, "running_mean": bn.runningMean.value.scalars,
                                       "running_var": bn.runningVar.value.scalars, "eps": 1e-5])
        expectClose(yEval.scalars, PythonReference.doubles(refEval["y"]), "bn eval y")
    }

    @Test func dropout() throws {
        let layer = try Dropout<Double>(probability: 0.3, seed: 105)
        let y = try layer.forward(Self.x, training: true)
        let dx = try layer.backward(Self.dy)
        let mask = try #require(layer.mask)
        let ref = try nnReference(["op": "dropout", "x": Self.x.scalars, "shape": Self.x.shape, "mask": mask.scalars, "dy": Self.dy.scalars])
        expectClose(y.scalars, PythonReference.doubles(ref["y"]), "dropout y")
        expectClose(dx.scalars, PythonReference.doubles(ref["dx"]), "dropout dx")
    }

    @Test func mseAndBCE() throws {
        let p = uniformTensor([4, 6], seed: 106, low: 0.01, high: 0.99)
        var t = uniformTensor([4, 6], seed: 107, low: 0, high: 1)
        for i in 0..<t.count where i % 2 == 0 { t.scalars[i] = t.scalars[i].rounded() }
        // One exact 0 and one exact 1 prediction exercise the −100 log clamp and the 1e−12 gradient floor.
        var pc = p
        pc.scalars[0] = 0; pc.scalars[1] = 1
        for (name, prediction) in [("mse", p), ("bce", pc)] {
            let loss: any Loss<Double> = name == "mse" ? MeanSquaredErrorLoss<Double>() : BinaryCrossEntropyLoss<Double>()
            let value = try loss.forward(prediction, target: t)
            let grad = try loss.backward()
            let ref = try nnReference(["op": name, "prediction": prediction.scalars, "target": t.scalars, "shape": t.shape])
            expectClose([value], [try #require((ref["loss"] as? NSNumber)?.doubleValue)], "\(name) loss")
            expectClose(grad.scalars, PythonReference.doubles(ref["grad"]), rtol: 1e-9, atol: 1e-9, "\(name) grad")
        }
    }

    @Test func rowCosine() throws {
        var a = randomTensor([4, 5], seed: 108), b = randomTensor([4, 5], seed: 109)
        for j in 0..<5 { a[3, j] = 0 }  // a zero row exercises the eps clamp
        let dcos = randomTensor([4], seed: 110)
        let cosine = RowCosineSimilarity<Double>()
        let c = try cosine.forward(a, b)
        let (da, db) = try cosine.backward(dcos)
        let ref = try nnReference(["op": "row_cosine", "a": a.scalars, "b": b.scalars, "shape": a.shape, "dcos": dcos.scalars, "eps": 1e-8])
        expectClose(c.scalars, PythonReference.doubles(ref["cos"]), "cos")
        expectClose(da.scalars, PythonReference.doubles(ref["da"]), rtol: 1e-9, atol: 1e-9, "dcos/da")
        expectClose(db.scalars, PythonReference.doubles(ref["db"]), rtol: 1e-9, atol: 1e-9, "dcos/db")
    }

    @Test(arguments: [8, 9])
    func cosinePreservation(n: Int) throws {
        // Bi-half-like ±1 codes, features with one zero row.
        var codes = randomTensor([n, 6], seed: UInt64(111 + n))
        codes = Tensor(uncheckedShape: codes.shape, scalars: codes.scalars.map { $0 >= 0 ? 1 : -1 })
        var features = randomTensor([n, 10], seed: UInt64(120 + n))
        for j in 0..<10 { features[2, j] = 0 }
        let loss = CosineSimilarityPreservationLoss<Double>()
        let value = try loss.forward(codes: codes, features: features)
        let grad = try loss.backward()
        #expect(grad.shape == [n, 6])
        let ref = try nnReference(["op": "cosine_preservation", "codes": codes.scalars, "codes_shape": codes.shape,
                                   "features": features.scalars, "features_shape": features.shape, "eps": 1e-8])
        expectClose([value], [try #require((ref["loss"] as? NSNumber)?.doubleValue)], "cos-preservation loss N=\(n)")
        expectClose(grad.scalars, PythonReference.doubles(ref["grad"]), "cos-preservation grad N=\(n)")
        expectClose(try CosineSimilarityPreservationLoss<Double>.targetSimilarity(features).scalars,
                    PythonReference.doubles(ref["target"]), "cos-preservation target N=\(n)")
    }
}
