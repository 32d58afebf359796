import BihashCore

/// The activation fused into an inference convolution's epilogue (after the bias, and the residual if any).
public enum ConvActivation: String, Sendable, CaseIterable {
    /// y = x.
    case identity
    /// ReLU6, y = min(max(x, 0), 6) (MobileNet, EfficientNet-Lite).
    case relu6

    /// The activation of one value.
    @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch self {
        case .identity: return x
        case .relu6: return Swift.min(Swift.max(x, 0), 6)
        }
    }
}

/// ReLU6 of eight values: compare-and-blend (the generic `clamped` is not inlined for SIMD8).
@inline(__always)
func relu6(_ v: SIMD8<Float>) -> SIMD8<Float> {
    let r = v.replacing(with: 0, where: v .< 0)
    return r.replacing(with: 6, where: r .> 6)
}

/// Eight consecutive floats from `p` (no alignment needed).
@inline(__always)
func loadVector(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func loadVector(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Stores eight floats at `p` (no alignment needed).
@inline(__always)
func storeVector(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}
