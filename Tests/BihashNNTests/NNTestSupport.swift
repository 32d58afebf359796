import BihashCore
import BihashNN
import Foundation
import Testing
import _BihashTestSupport

// Shared fixtures for the BihashNN tests. Shape legend: N = batch, D = features, K = bits, P = pairs.

/// A seeded N(0, 1) tensor.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Double = 1, shift: Double = 0) -> Tensor<Double> {
    var rng = SeededGenerator(seed: seed)
    return Tensor<Double>.normal(shape, mean: shift, std: scale, using: &rng)
}

/// A seeded U(low, high) tensor.
func uniformTensor(_ shape: [Int], seed: UInt64, low: Double, high: Double) -> Tensor<Double> {
    var rng = SeededGenerator(seed: seed)
    return Tensor<Double>.uniform(shape, low: low, high: high, using: &rng)
}

/// Prints every gradient-check result and expects each to pass.
func expectGradientsPass(_ results: [GradientCheckResult], _ label: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    for r in results {
        print("gradcheck \(label) \(r)")
        #expect(r.passed, "\(label): \(r)", sourceLocation: sourceLocation)
    }
}

/// Expects `actual` ≈ `expected` (same count, |a − e| ≤ atol + rtol·|e|), printing the largest difference.
func expectClose(_ actual: [Double], _ expected: [Double], rtol: Double = 1e-9, atol: Double = 1e-12,
                 _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(label): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    let r = allClose(actual, expected, rtol: rtol, atol: atol)
    print("compare \(label): max diff \(r.maxDiff)")
    #expect(r.ok, "\(label): max diff \(r.maxDiff) (rtol \(rtol), atol \(atol))", sourceLocation: sourceLocation)
}

/// Runs `tools/reference/nn_reference.py` with `input`.
func nnReference(_ input: [String: Any]) throws -> [String: Any] {
    try PythonReference.run("nn_reference.py", input: input)
}
