/// Element-wise arithmetic and reductions. Binary operations on two tensors require equal shapes and throw
/// `BihashError.invalidArgument` otherwise (one shape comparison per call; the element loops check nothing).
extension Tensor {
    @inlinable
    public func map(_ f: (T) -> T) -> Tensor {
        Tensor(uncheckedShape: shape, scalars: scalars.map(f))
    }

    /// Applies `f` to the elements of `self` and `other` pairwise.
    /// - Throws: `BihashError.invalidArgument` if the shapes differ.
    @inlinable
    public func zipMap(_ other: Tensor, _ f: (T, T) -> T) throws -> Tensor {
        try zipMap(other, operation: "zipMap", f)
    }

    /// `zipMap`, naming `operation` in the error.
    @inlinable
    func zipMap(_ other: Tensor, operation: String, _ f: (T, T) -> T) throws -> Tensor {
        try requireSameShape(other, operation)
        var out = scalars
        out.withUnsafeMutableBufferPointer { o in
            other.scalars.withUnsafeBufferPointer { b in
                for i in 0..<o.count { o[i] = f(o[i], b[i]) }
            }
        }
        return Tensor(uncheckedShape: shape, scalars: out)
    }

    /// Element-wise sum, difference and product of two tensors of the same shape.
    /// - Throws: `BihashError.invalidArgument` if the shapes differ.
    @inlinable public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.zipMap(b, operation: "+", +) }
    @inlinable public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.zipMap(b, operation: "-", -) }
    @inlinable public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.zipMap(b, operation: "*", *) }
    @inlinable public static func * (a: Tensor, s: T) -> Tensor { a.map { $0 * s } }
    @inlinable public static func * (s: T, a: Tensor) -> Tensor { a.map { $0 * s } }

    /// self += other · scale, in place.
    /// - Throws: `BihashError.invalidArgument` if the shapes differ (`self` is then unchanged).
    @inlinable
    public mutating func add(_ other: Tensor, scaledBy scale: T = 1) throws {
        try requireSameShape(other, "add")
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

    /// Largest absolute element-wise difference to `other`.
    /// - Throws: `BihashError.invalidArgument` if the shapes differ.
    public func maxAbsDifference(_ other: Tensor) throws -> Double {
        try requireSameShape(other, "maxAbsDifference")
        var m = 0.0
        for i in 0..<count { m = Swift.max(m, abs(scalars[i].doubleValue - other.scalars[i].doubleValue)) }
        return m
    }

    /// Throws `BihashError.invalidArgument` naming `operation` and both shapes unless `other` has this shape.
    @inlinable
    func requireSameShape(_ other: Tensor, _ operation: String) throws {
        if shape != other.shape {
            throw BihashError.invalidArgument("element-wise \(operation) of tensors of shapes \(shape) and \(other.shape): the shapes must be equal")
        }
    }
}
