import BihashCore

/// The outcome of comparing an analytic gradient with central finite differences.
public struct GradientCheckResult: Sendable, CustomStringConvertible {
    /// What was checked: `input`, a parameter name, or `prediction` for a loss.
    public let name: String
    /// max_i |analytic_i − numeric_i|.
    public let maxAbsError: Double
    /// max_i |analytic_i − numeric_i| / max(|numeric_i|, 1e-12)   (only for reporting).
    public let maxRelError: Double
    /// Number of elements compared.
    public let count: Int
    /// Whether every element satisfies |analytic − numeric| ≤ atol + rtol·|numeric| (PyTorch gradcheck's rule).
    public let passed: Bool

    public var description: String {
        "\(name): \(passed ? "ok" : "FAILED") over \(count) elements, max abs error \(maxAbsError), max rel error \(maxRelError)"
    }
}

/// Central finite-difference gradient checks in `Double`, with PyTorch `gradcheck`'s defaults
/// (step 1e-6, atol 1e-5, rtol 1e-3).
///
/// A layer with output y is reduced to the scalar s = Σ r ⊙ y for a fixed random r ~ N(0, 1) (so one
/// backward pass with dy = r checks the whole Jacobian against directional derivatives), and every input
/// element and every parameter element is perturbed by ±step.
///
/// ```swift
/// let results = try GradientCheck.checkLayer(BatchNorm1d<Double>(4), input: x)
/// for r in results { print(r); #expect(r.passed) }
/// ```
public enum GradientCheck {
    public static let defaultStep = 1e-6
    public static let defaultAbsoluteTolerance = 1e-5
    public static let defaultRelativeTolerance = 1e-3

    /// Compares `analytic` with `numeric` element-wise.
    public static func compare(_ name: String, analytic: [Double], numeric: [Double],
                               atol: Double = defaultAbsoluteTolerance, rtol: Double = defaultRelativeTolerance) -> GradientCheckResult {
        guard analytic.count == numeric.count else {
            return GradientCheckResult(name: name, maxAbsError: .infinity, maxRelError: .infinity, count: 0, passed: false)
        }
        var maxAbs = 0.0, maxRel = 0.0, passed = true
        for i in 0..<analytic.count {
            let diff = abs(analytic[i] - numeric[i])
            maxAbs = max(maxAbs, diff)
            maxRel = max(maxRel, diff / max(abs(numeric[i]), 1e-12))
            if !(diff <= atol + rtol * abs(numeric[i])) { passed = false }  // NaN fails
        }
        return GradientCheckResult(name: name, maxAbsError: maxAbs, maxRelError: maxRel, count: analytic.count, passed: passed)
    }

    /// ∂f/∂v at `values` by central differences (f(v + h·eᵢ) − f(v − h·eᵢ))/(2h); f receives the perturbed
    /// copy of `values` (exactly `values` again between elements).
    public static func numericalGradient(at values: [Double], step: Double = defaultStep,
                                         _ f: ([Double]) throws -> Double) rethrows -> [Double] {
        var v = values
        var gradient = [Double](repeating: 0, count: values.count)
        for i in 0..<values.count {
            v[i] = values[i] + step
            let plus = try f(v)
            v[i] = values[i] - step
            let minus = try f(v)
            v[i] = values[i]
            gradient[i] = (plus - minus) / (2 * step)
        }
        return gradient
    }

    /// Checks a layer's input gradient and each parameter gradient at `input` (training-mode forward).
    ///
    /// - Parameters:
    ///   - seed: seeds the projection r: [output shape].
    ///   - beforeForward: runs before every forward pass (e.g. restore a `Dropout`'s generator so that every
    ///     pass draws the same mask).
    /// - Returns: one result for `input`, then one per parameter in `layer.parameters` order (named after it).
    /// - Note: parameter gradients are zeroed first; the layer's parameters end with their original values and
    ///   the analytic gradients of s.
    public static func checkLayer<L: Layer>(_ layer: L, input: Tensor<Double>, seed: UInt64 = 0,
                                            step: Double = defaultStep, atol: Double = defaultAbsoluteTolerance,
                                            rtol: Double = defaultRelativeTolerance,
                                            beforeForward: () -> Void = {}) throws -> [GradientCheckResult] where L.Scalar == Double {
        beforeForward()
        let y = try layer.forward(input, training: true)
        var rng = SeededGenerator(seed: seed)
        let r = Tensor<Double>.normal(y.shape, using: &rng)
        // s(x) = Σ r ⊙ y(x): its gradient is backward(r).
        func projected(_ x: Tensor<Double>) throws -> Double {
            beforeForward()
            let out = try layer.forward(x, training: true)
            var s = 0.0
            for i in 0..<out.count { s += r.scalars[i] * out.scalars[i] }
            return s
        }
        layer.zeroGrad()
        beforeForward()
        _ = try layer.forward(input, training: true)
        let dx = try layer.backward(r)
        let analyticParameters = layer.parameters.map { $0.grad.scalars }

        var results: [GradientCheckResult] = []
        let numericInput = try numericalGradient(at: input.scalars, step: step) { v in
            try projected(Tensor(uncheckedShape: input.shape, scalars: v))
        }
        results.append(compare("input", analytic: dx.scalars, numeric: numericInput, atol: atol, rtol: rtol))
        for (p, analytic) in zip(layer.parameters, analyticParameters) {
            let original = p.value.scalars
            defer { p.value.scalars = original }
            let numeric = try numericalGradient(at: original, step: step) { v in
                p.value.scalars = v
                return try projected(input)
            }
            results.append(compare(p.name, analytic: analytic, numeric: numeric, atol: atol, rtol: rtol))
        }
        return results
    }

    /// Checks a loss's gradient with respect to its prediction at (`prediction`, `target`).
    public static func checkLoss<L: Loss>(_ loss: L, prediction: Tensor<Double>, target: Tensor<Double>,
                                          step: Double = defaultStep, atol: Double = defaultAbsoluteTolerance,
                                          rtol: Double = defaultRelativeTolerance) throws -> GradientCheckResult where L.Scalar == Double {
        _ = try loss.forward(prediction, target: target)
        let analytic = try loss.backward()
        let numeric = try numericalGradient(at: prediction.scalars, step: step) { v in
            try loss.forward(Tensor(uncheckedShape: prediction.shape, scalars: v), target: target)
        }
        return compare("prediction", analytic: analytic.scalars, numeric: numeric, atol: atol, rtol: rtol)
    }

    /// Checks any scalar function f(x) against its claimed gradient at x (e.g. a helper such as
    /// `RowCosineSimilarity` composed with a projection).
    public static func check(_ name: String, at x: Tensor<Double>, analyticGradient: Tensor<Double>,
                             step: Double = defaultStep, atol: Double = defaultAbsoluteTolerance,
                             rtol: Double = defaultRelativeTolerance,
                             _ f: (Tensor<Double>) throws -> Double) rethrows -> GradientCheckResult {
        let numeric = try numericalGradient(at: x.scalars, step: step) { v in try f(Tensor(uncheckedShape: x.shape, scalars: v)) }
        return compare(name, analytic: analyticGradient.scalars, numeric: numeric, atol: atol, rtol: rtol)
    }
}
