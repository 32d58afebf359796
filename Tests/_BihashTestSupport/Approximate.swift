/// Approximate comparison helpers for numeric tests: shape first, then |a − b| ≤ atol + rtol·|b| element-wise.
public func allClose(_ a: [Double], _ b: [Double], rtol: Double = 1e-5, atol: Double = 1e-8) -> (ok: Bool, maxDiff: Double) {
    guard a.count == b.count else { return (false, .infinity) }
    var ok = true, maxDiff = 0.0
    for i in 0..<a.count {
        let d = abs(a[i] - b[i])
        maxDiff = max(maxDiff, d)
        if !(d <= atol + rtol * abs(b[i])) { ok = false }
    }
    return (ok, maxDiff)
}
