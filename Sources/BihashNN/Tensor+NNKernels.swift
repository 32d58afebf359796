import BihashCore

// Element-wise kernels shared by the layers and losses: one pass over raw buffers, output allocated once
// without zero-filling. Always inlined into the (specialised) layer methods that call them.
extension Tensor {
    /// A tensor of the same shape with `f` applied to every element.
    @inline(__always)
    func mapElements(_ f: (T) -> T) -> Tensor {
        let n = count
        let out = [T](unsafeUninitializedCapacity: n) { buf, initialized in
            scalars.withUnsafeBufferPointer { x in
                for i in 0..<n { (buf.baseAddress! + i).initialize(to: f(x[i])) }
            }
            initialized = n
        }
        return Tensor(uncheckedShape: shape, scalars: out)
    }

    /// A tensor of the same shape with `f(self[i], other[i])`; the caller has checked that the counts agree.
    @inline(__always)
    func zipElements(_ other: Tensor, _ f: (T, T) -> T) -> Tensor {
        let n = count
        let out = [T](unsafeUninitializedCapacity: n) { buf, initialized in
            scalars.withUnsafeBufferPointer { a in
                other.scalars.withUnsafeBufferPointer { b in
                    for i in 0..<n { (buf.baseAddress! + i).initialize(to: f(a[i], b[i])) }
                }
            }
            initialized = n
        }
        return Tensor(uncheckedShape: shape, scalars: out)
    }
}

/// The error every layer throws when `backward` comes before a training-mode `forward`.
@inline(__always)
func backwardBeforeForward(_ summary: String) -> BihashError {
    .invalidState("\(summary): backward called before a training forward")
}
