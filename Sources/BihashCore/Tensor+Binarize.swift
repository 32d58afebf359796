extension Tensor where T == Float {
    /// The autoencoder recipe's input binarisation (ALGORITHMS.md §1.4a; BH `min_max_normalization` + `torch.round`):
    /// per row, subtract the minimum, divide by the largest shifted value, then round half to even.
    ///
    /// The arithmetic is float32 in the reference's order (`(x − min) / max(x − min)`), so results match it bit for
    /// bit. A constant row (max = min), which makes the reference divide 0 by 0 and produce NaN, becomes all zeros.
    /// Rows: [N, D] → [N, D] of 0s and 1s.
    public func minMaxBinarizedRows() -> Tensor<Float> {
        let n = rows, d = cols
        var out = [Float](repeating: 0, count: n * d)
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n where d > 0 {
                    let row = i * d
                    var lo = src[row]
                    for j in 1..<d { lo = Swift.min(lo, src[row + j]) }
                    var hi: Float = 0
                    for j in 0..<d { hi = Swift.max(hi, src[row + j] - lo) }
                    if !(hi > 0) { continue }  // constant row (or NaN): zeros
                    for j in 0..<d { dst[row + j] = ((src[row + j] - lo) / hi).rounded(.toNearestOrEven) }
                }
            }
        }
        return Tensor(uncheckedShape: shape, scalars: out)
    }
}
