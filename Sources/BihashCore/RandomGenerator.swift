/// Seeded pseudo-random numbers: xoshiro256** (Blackman & Vigna) seeded through SplitMix64.
///
/// Every random choice in bihash (initialisation, shuffling, dropout masks, LSH projections) draws from a
/// generator created from an explicit seed, so runs are reproducible bit for bit on the same build.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var sm = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(&sm); s1 = splitMix(&sm); s2 = splitMix(&sm); s3 = splitMix(&sm)
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Standard normal N(0, 1) by the Box–Muller transform.
    @inlinable
    public mutating func nextNormal() -> Double {
        var u1 = nextUniform()
        while u1 <= 0 { u1 = nextUniform() }
        let u2 = nextUniform()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// A uniformly random permutation of 0..<n (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = Int(next() % UInt64(i + 1))
                p.swapAt(i, j)
            }
        }
        return p
    }
}

import Foundation
@usableFromInline func _log(_ x: Double) -> Double { Foundation.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Foundation.cos(x) }

extension Tensor {
    /// Elements drawn independently from U(low, high).
    public static func uniform(_ shape: [Int], low: T, high: T, using rng: inout SeededGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        var s = [T](repeating: 0, count: n)
        for i in 0..<n { s[i] = low + (high - low) * T(rng.nextUniform()) }
        return Tensor(uncheckedShape: shape, scalars: s)
    }

    /// Elements drawn independently from N(mean, std²).
    public static func normal(_ shape: [Int], mean: T = 0, std: T = 1, using rng: inout SeededGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        var s = [T](repeating: 0, count: n)
        for i in 0..<n { s[i] = mean + std * T(rng.nextNormal()) }
        return Tensor(uncheckedShape: shape, scalars: s)
    }
}
