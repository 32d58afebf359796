import BihashCore
import BihashNN
import Foundation
import Testing
import _BihashTestSupport

// The inference convolutions of BihashNN/Conv against tools/reference/nn_conv.py, a float64 NumPy
// re-computation (explicit SAME padding, tap-by-tap sums), on small odd shapes: kernel 1/3/5, stride 1/2,
// odd and even H, W and channel counts that exercise both the 8-wide vector path and the scalar tail.

/// Runs tools/reference/nn_conv.py.
private func convReference(_ input: [String: Any]) throws -> [String: Any] {
    try PythonReference.run("nn_conv.py", input: input)
}

/// A seeded N(0, std²) Float tensor.
private func floatTensor(_ shape: [Int], seed: UInt64, std: Double = 1) -> Tensor<Float> {
    randomTensor(shape, seed: seed, scale: std).converted(to: Float.self)
}

private func doubles(_ t: Tensor<Float>) -> [Double] { t.scalars.map(Double.init) }

/// Expects the reference's y and y_shape to match `actual` (Float computation vs float64 reference).
private func expectMatches(_ actual: Tensor<Float>, _ ref: [String: Any], _ label: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    let shape = (ref["y_shape"] as? [Int]) ?? []
    #expect(actual.shape == shape, "\(label): shape \(actual.shape), reference \(shape)", sourceLocation: sourceLocation)
    expectClose(doubles(actual), PythonReference.doubles(ref["y"]), rtol: 1e-5, atol: 2e-5, label, sourceLocation: sourceLocation)
}

@Suite struct ConvReferenceTests {
    @Test func samePaddingMatchesTensorFlowRule() throws {
        var cases: [[Int]] = []
        for input in [1, 2, 5, 6, 7, 8, 31, 96, 224] {
            for kernel in [1, 3, 5] {
                for stride in [1, 2, 3] { cases.append([input, kernel, stride]) }
            }
        }
        let ref = try convReference(["op": "same_padding", "cases": cases])
        let expected = (ref["padding"] as? [[Int]]) ?? []
        #expect(expected.count == cases.count)
        for (c, e) in zip(cases, expected) {
            let p = SamePadding(input: c[0], kernel: c[1], stride: c[2])
            #expect([p.output, p.before, p.after] == e, "input \(c[0]) kernel \(c[1]) stride \(c[2])")
        }
        // The EfficientNet cases written out: 224 → 112 with one zero row/column after; 5×5 stride 1 pads 2 + 2.
        let s = SamePadding(input: 224, kernel: 3, stride: 2)
        #expect((s.output, s.before, s.after) == (112, 0, 1))
        let t = SamePadding(input: 7, kernel: 5, stride: 1)
        #expect((t.output, t.before, t.after) == (7, 2, 2))
    }

    // (kernel, stride, N, H, W, Cin, Cout)
    static let convCases: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (1, 1, 2, 5, 6, 7, 11),     // pointwise: a plain matrix product
        (1, 2, 2, 7, 6, 5, 9),      // 1×1 with stride: im2col path
        (3, 1, 1, 7, 8, 3, 16),
        (3, 2, 2, 9, 6, 3, 10),     // the stem's shape class (Cin 3, stride 2)
        (3, 2, 1, 8, 8, 4, 8),      // even side, stride 2: padding only after
        (5, 1, 1, 6, 7, 5, 13),
        (5, 2, 2, 7, 9, 6, 3),
        (3, 2, 3, 20, 19, 3, 11),   // 1,140 output pixels: several im2col tiles
        (1, 1, 1, 3, 5, 1100, 70),  // K = 1,100: the weight panels split into L2 chunks; 15 rows = 2 blocks + 3
    ]

    @Test(arguments: 0..<convCases.count)
    func conv2dMatchesNumPy(index: Int) throws {
        let (k, s, n, h, w, cin, cout) = Self.convCases[index]
        let x = floatTensor([n, h, w, cin], seed: UInt64(200 + index), std: 2)
        // Weights ~ N(0, 1/fan-in), as in a trained network: outputs of order 1 whatever K is.
        let weight = floatTensor([cout, cin, k, k], seed: UInt64(300 + index), std: 1 / Double(cin * k * k).squareRoot())
        let bias = floatTensor([cout], seed: UInt64(400 + index))
        for activation in ConvActivation.allCases {
            let conv = try Conv2d(weight: weight, bias: bias, stride: s, activation: activation)
            let y = try conv(x)
            let ref = try convReference(["op": "conv2d", "x": doubles(x), "x_shape": x.shape, "w": doubles(weight),
                                         "w_shape": weight.shape, "bias": doubles(bias), "stride": s,
                                         "activation": activation.rawValue])
            expectMatches(y, ref, "conv2d k\(k) s\(s) \(x.shape)→\(cout) \(activation)")
        }
    }

    @Test(arguments: [10, 24])
    func conv2dWithoutBiasAndWithResidual(outChannels: Int) throws {
        let x = floatTensor([2, 5, 7, 6], seed: 500, std: 2)
        let weight = floatTensor([outChannels, 6, 1, 1], seed: 501, std: 0.4)
        let residual = floatTensor([2, 5, 7, outChannels], seed: 502, std: 3)
        for activation in ConvActivation.allCases {
            let conv = try Conv2d(weight: weight, stride: 1, activation: activation)
            let y = try conv(x, residual: residual)
            let ref = try convReference(["op": "conv2d", "x": doubles(x), "x_shape": x.shape, "w": doubles(weight),
                                         "w_shape": weight.shape, "bias": NSNull(), "stride": 1,
                                         "activation": activation.rawValue, "residual": doubles(residual)])
            expectMatches(y, ref, "conv2d residual →\(outChannels) \(activation)")
        }
    }

    // (kernel, stride, N, H, W, C)
    static let depthwiseCases: [(Int, Int, Int, Int, Int, Int)] = [
        (3, 1, 2, 5, 6, 8),
        (3, 2, 1, 7, 7, 19),    // two vectors of 8 and a tail of 3
        (3, 2, 2, 8, 6, 5),     // tail only
        (5, 1, 1, 6, 9, 16),
        (5, 2, 2, 9, 8, 13),
        (5, 2, 1, 3, 4, 24),    // image smaller than the kernel
        (1, 1, 1, 4, 3, 9),
        (3, 2, 1, 5, 16, 24),   // stride 2 with four-pixel groups inside the row, 16 + 8 channels
        (5, 2, 2, 6, 20, 16),   // 5×5 stride 2, two four-pixel groups per row
    ]

    @Test(arguments: 0..<depthwiseCases.count)
    func depthwiseMatchesNumPy(index: Int) throws {
        let (k, s, n, h, w, c) = Self.depthwiseCases[index]
        let x = floatTensor([n, h, w, c], seed: UInt64(600 + index), std: 2)
        let weight = floatTensor([c, 1, k, k], seed: UInt64(700 + index))
        let bias = floatTensor([c], seed: UInt64(800 + index))
        for activation in ConvActivation.allCases {
            let dw = try DepthwiseConv2d(weight: weight, bias: bias, stride: s, activation: activation)
            let y = try dw(x)
            let ref = try convReference(["op": "depthwise", "x": doubles(x), "x_shape": x.shape, "w": doubles(weight),
                                         "w_shape": weight.shape, "bias": doubles(bias), "stride": s,
                                         "activation": activation.rawValue])
            expectMatches(y, ref, "depthwise k\(k) s\(s) \(x.shape) \(activation)")
        }
    }

    @Test func batchNormFoldedIntoConvolutionMatchesConvolutionThenBatchNorm() throws {
        let (cin, cout) = (5, 12)
        let x = floatTensor([2, 7, 6, cin], seed: 900, std: 2)
        let weight = floatTensor([cout, cin, 3, 3], seed: 901)
        let gamma = floatTensor([cout], seed: 902, std: 2)
        let beta = floatTensor([cout], seed: 903)
        let mean = floatTensor([cout], seed: 904)
        let variance = try Tensor<Float>(shape: [cout], scalars: (0..<cout).map { Float($0) * 0.3 + 0.05 })
        let fold = try BatchNormFolding(gamma: gamma, beta: beta, runningMean: mean, runningVar: variance, epsilon: 1e-3)
        let (w, b) = try fold.fold(weight: weight)
        let y = try Conv2d(weight: w, bias: b, stride: 2, activation: .relu6)(x)
        let ref = try convReference(["op": "conv2d_bn", "x": doubles(x), "x_shape": x.shape, "w": doubles(weight),
                                     "w_shape": weight.shape, "stride": 2, "gamma": doubles(gamma), "beta": doubles(beta),
                                     "mean": doubles(mean), "var": doubles(variance), "eps": 1e-3, "activation": "relu6"])
        expectMatches(y, ref, "conv2d + folded BatchNorm")
    }

    @Test func globalAveragePoolMatchesNumPy() throws {
        for (shape, seed) in [([2, 5, 7, 19], 1000), ([1, 1, 1, 8], 1001), ([3, 4, 4, 3], 1002)] {
            let x = floatTensor(shape, seed: UInt64(seed))
            let y = try GlobalAveragePool.pool(x)
            let ref = try convReference(["op": "global_avg_pool", "x": doubles(x), "x_shape": shape])
            expectMatches(y, ref, "global average pool \(shape)")
        }
    }

    @Test func invalidShapesThrow() throws {
        let w = floatTensor([4, 3, 3, 3], seed: 1100)
        #expect(throws: BihashError.self) { try Conv2d(weight: floatTensor([4, 3, 3, 2], seed: 1), stride: 1) }
        #expect(throws: BihashError.self) { try Conv2d(weight: floatTensor([4, 3, 3], seed: 1)) }
        #expect(throws: BihashError.self) { try Conv2d(weight: w, bias: floatTensor([3], seed: 2)) }
        #expect(throws: BihashError.self) { try Conv2d(weight: w, stride: 0) }
        let conv = try Conv2d(weight: w, stride: 2)
        #expect(throws: BihashError.self) { try conv(floatTensor([1, 5, 5, 4], seed: 3)) }      // wrong channels
        #expect(throws: BihashError.self) { try conv(floatTensor([5, 5, 3], seed: 4)) }         // rank 3
        #expect(throws: BihashError.self) { try conv(floatTensor([1, 6, 6, 3], seed: 5), residual: floatTensor([1, 2, 2, 4], seed: 6)) }
        #expect(throws: BihashError.self) { try DepthwiseConv2d(weight: floatTensor([4, 2, 3, 3], seed: 7)) }
        let dw = try DepthwiseConv2d(weight: floatTensor([4, 1, 3, 3], seed: 8))
        #expect(throws: BihashError.self) { try dw(floatTensor([1, 5, 5, 3], seed: 9)) }
        #expect(throws: BihashError.self) { try GlobalAveragePool.pool(floatTensor([2, 3], seed: 10)) }
        var bad = floatTensor([4, 3, 3, 3], seed: 11)
        bad.scalars[5] = .nan
        #expect(throws: BihashError.self) { try Conv2d(weight: bad) }
        let c4 = floatTensor([4], seed: 12)
        #expect(throws: BihashError.self) {
            try BatchNormFolding(gamma: c4, beta: c4, runningMean: c4, runningVar: try Tensor(shape: [4], scalars: [1, -1, 1, 1]), epsilon: 1e-3)
        }
        #expect(throws: BihashError.self) {
            try BatchNormFolding(gamma: c4, beta: c4, runningMean: c4, runningVar: c4, epsilon: 1e-3).fold(weight: floatTensor([5, 2, 1, 1], seed: 13))
        }
    }
}
