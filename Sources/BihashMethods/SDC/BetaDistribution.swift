import BihashCore
import Foundation

/// The Beta(a, b) distribution's CDF and inverse CDF, for SDC's calibration targets (ALGORITHMS.md §2.2 step 3;
/// scipy's `beta.ppf` in the official code).
///
/// CDF: the regularised incomplete beta I_x(a, b), by the continued fraction of Numerical Recipes §6.4 (modified
/// Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly.
/// Inverse: bracketed Newton iteration on [0, 1] that falls back to bisection whenever a Newton step leaves the
/// bracket, so it always converges; accurate to ~1e-12 in x for any a, b > 0.
public struct BetaDistribution: Sendable {
    public let a: Double
    public let b: Double
    /// log B(a, b) = lnΓ(a) + lnΓ(b) − lnΓ(a + b).
    private let logBeta: Double

    public init(a: Double, b: Double) throws {
        try require(a > 0 && b > 0 && a.isFinite && b.isFinite, "Beta distribution needs a, b > 0, got a = \(a), b = \(b)")
        self.a = a
        self.b = b
        logBeta = lgamma(a) + lgamma(b) - lgamma(a + b)
    }

    /// Density x^(a−1)(1−x)^(b−1)/B(a, b) on (0, 1).
    public func density(_ x: Double) -> Double {
        guard x > 0 && x < 1 else { return 0 }
        return Foundation.exp((a - 1) * Foundation.log(x) + (b - 1) * Foundation.log1p(-x) - logBeta)
    }

    /// P(X ≤ x) = I_x(a, b).
    public func cdf(_ x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        // Prefactor x^a (1−x)^b / B(a, b), shared by both branches (NR eq. 6.4.5).
        let front = Foundation.exp(a * Foundation.log(x) + b * Foundation.log1p(-x) - logBeta)
        if x < (a + 1) / (a + b + 2) {
            return front * BetaDistribution.continuedFraction(a, b, x) / a
        }
        return 1 - front * BetaDistribution.continuedFraction(b, a, 1 - x) / b
    }

    /// The x with P(X ≤ x) = p, for p in [0, 1]. Upper-half probabilities are solved through the mirror
    /// distribution, F⁻¹_{a,b}(p) = 1 − F⁻¹_{b,a}(1 − p), so each tail is found with relative accuracy.
    public func quantile(_ p: Double) throws -> Double {
        try require(p >= 0 && p <= 1, "Beta quantile needs a probability in [0, 1], got \(p)")
        if p == 0 { return 0 }
        if p == 1 { return 1 }
        if p > 0.5 { return 1 - (try BetaDistribution(a: b, b: a)).lowerQuantile(1 - p) }
        return lowerQuantile(p)
    }

    /// F⁻¹(p) for p ≤ 1/2: Newton steps kept inside a shrinking bracket, bisection when a step leaves it.
    private func lowerQuantile(_ p: Double) -> Double {
        var lo = 0.0, hi = 1.0
        // Start from the lower-tail asymptote I_x(a, b) ≈ x^a / (a·B(a, b)), or the mean if that is unusable.
        var x = Foundation.exp((Foundation.log(p) + Foundation.log(a) + logBeta) / a)
        if !(x > 0 && x < 1) { x = a / (a + b) }
        for _ in 0..<400 {
            let f = cdf(x) - p
            if f == 0 { return x }
            if f < 0 { lo = x } else { hi = x }
            let d = density(x)
            var next = d > 0 ? x - f / d : .nan                                   // Newton step
            if !(next > lo && next < hi) { next = lo > 0 ? (lo * hi).squareRoot() : 0.5 * hi }  // bisect (geometric)
            if abs(next - x) <= 1e-15 * x || hi - lo <= 1e-15 * hi { return next }
            x = next
        }
        return x
    }

    /// Continued fraction for I_x(a, b) (NR `betacf`, modified Lentz's method).
    private static func continuedFraction(_ a: Double, _ b: Double, _ x: Double) -> Double {
        let tiny = 1e-300
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m), m2 = 2 * m
            // Even step: d_{2m} = m(b − m)x / ((a + 2m − 1)(a + 2m)).
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            // Odd step: d_{2m+1} = −(a + m)(a + b + m)x / ((a + 2m)(a + 2m + 1)).
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return h
    }

    /// SDC's calibration targets for P pairs: c_p = 2·F⁻¹((2p − 1)/(2P)) − 1, p = 1…P, ascending in [−1, 1]
    /// (the mid-point quantiles mapped to the cosine range; ALGORITHMS.md §2.2 step 3).
    public func calibrationTargets(pairs: Int) throws -> [Double] {
        try require(pairs >= 1, "SDC needs at least one pair per batch, got \(pairs)")
        return try (1...pairs).map { p in 2 * (try quantile((2 * Double(p) - 1) / (2 * Double(pairs)))) - 1 }
    }
}
