/// Element-wise arithmetic and reductions. Binary operators require equal shapes (checked with `precondition`
/// only where the shapes come from bihash's own layers; public entry points validate shapes before calling).
extension Tensor {
    @inlinable
    public func map(_ f: (T) -> T) -> Tensor {
        Tensor(uncheckedShape: shape, scalars: scalars.map(f))
    }

    @inlinable
    public func zipMap(_ other: Tensor, _ f: (T, T) -> T) -> Tensor {
        precondition(shape == other.shape, "zipMap: shapes \(shape) and \(other.shape) differ")
        var out = scalars
        out.withUnsafeMutableBufferPointer { o in
            other.scalars.withUnsafeBufferPointer { b in
                for i in 0..<o.count { o[i] = f(o[i], b[i]) }
            }
        }
        return Tensor(uncheckedShape: shape, scalars: out)
    }

    @inlinable public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, +) }
    @inlinable public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, -) }
    @inlinable public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, *) }
    @inlinable public static func * (a: Tensor, s: T) -> Tensor { a.map { $0 * s } }
    @inlinable public static func * (s: T, a: Tensor) -> Tensor { a.map { $0 * s } }

    /// self += other · scale, in place.
    @inlinable
    public mutating func add(_ other: Tensor, scaledBy scale: T = 1) {
        precondition(shape == other.shape, "add: shapes \(shape) and \(other.shape) differ")
        scalars.withUnsafeMutableBufferPointer { o in
            other.scalars.withUnsafeBufferPointer { b in
                for i in 0..<o.count { o[i] += scale * b[i] }
            }
        }
    }

    /// Sets every element to zero, keeping the shape.
    @inlinable
    public mutating func zero() {
        scalars.withUnsafeMutableBufferPointer { o in o.update(repeating: 0) }
    }

    /// Sum of all elements, accumulated in Double.
    @inlinable
    public func sum() -> T {
        var s = 0.0
        for v in scalars { s += v.doubleValue }
        return T(s)
    }

    /// Mean of all elements (0 for an empty tensor).
    @inlinable
    public func mean() -> T { count == 0 ? 0 : T(sum().doubleValue / Double(count)) }

    /// Column sums of a 2-D tensor: shape [cols].
    @inlinable
    public func sumRows() -> Tensor {
        let r = rows, c = cols
        var out = [T](repeating: 0, count: c)
        scalars.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<r {
                    let base = i * c
                    for j in 0..<c { o[j] += x[base + j] }
                }
            }
        }
        return Tensor(uncheckedShape: [c], scalars: out)
    }

    /// Largest absolute element-wise difference to `other` (shapes must match).
    public func maxAbsDifference(_ other: Tensor) -> Double {
        precondition(shape == other.shape, "maxAbsDifference: shapes \(shape) and \(other.shape) differ")
        var m = 0.0
        for i in 0..<count { m = Swift.max(m, abs(scalars[i].doubleValue - other.scalars[i].doubleValue)) }
        return m
    }
}
