/// A dense, row-major tensor of `Float` or `Double`.
///
/// Shape legend used across bihash: N = batch size (rows), D = input feature dimension, K = number of bits,
/// H = hidden width, C = number of classes. A 2-D tensor of shape [N, D] is a batch of N row vectors.
///
/// `Tensor` is a value type backed by a copy-on-write `Array`, so passing it around is cheap and a layer that
/// caches its input for the backward pass holds a reference, not a copy.
public struct Tensor<T: TensorScalar>: Equatable, Sendable {
    /// Extent of each dimension, outermost first.
    public var shape: [Int]
    /// All elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [T]

    /// Wraps `scalars` with `shape`; throws if the element count does not match.
    public init(shape: [Int], scalars: [T]) throws {
        try require(shape.allSatisfy { $0 >= 0 }, "tensor shape \(shape) has a negative dimension")
        let count = try Tensor.elementCount(shape)
        try require(count == scalars.count,
                    "tensor shape \(shape) needs \(count) elements, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// Internal initialiser for call sites that already guarantee `scalars.count == product(shape)`.
    @inlinable
    public init(uncheckedShape shape: [Int], scalars: [T]) {
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` filled with `value` (zeros by default).
    @inlinable
    public init(zeros shape: [Int], value: T = 0) {
        self.shape = shape
        self.scalars = [T](repeating: value, count: shape.reduce(1, *))
    }

    /// A 2-D tensor from nested rows (tests and small fixtures); every row must have the same length.
    public init(rows: [[T]]) throws {
        let cols = rows.first?.count ?? 0
        try require(rows.allSatisfy { $0.count == cols }, "rows have different lengths")
        self.shape = [rows.count, cols]
        self.scalars = rows.flatMap { $0 }
    }

    /// Number of elements, checking for overflow (untrusted shapes come from files).
    public static func elementCount(_ shape: [Int]) throws -> Int {
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { throw BihashError.limitExceeded("tensor shape \(shape) overflows the element count") }
            count = product
        }
        return count
    }

    @inlinable public var count: Int { scalars.count }
    @inlinable public var rank: Int { shape.count }
    /// Size of the outermost dimension (N for a batch).
    @inlinable public var rows: Int { shape.first ?? 1 }
    /// Elements per row: the product of all dimensions but the first.
    @inlinable public var cols: Int { shape.count <= 1 ? (shape.first.map { _ in 1 } ?? 1) : shape.dropFirst().reduce(1, *) }

    /// Element (i, j) of a 2-D tensor.
    @inlinable
    public subscript(i: Int, j: Int) -> T {
        get { scalars[i * cols + j] }
        set { scalars[i * cols + j] = newValue }
    }

    /// The same elements with a new shape of equal element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor(shape: newShape, scalars: scalars)
    }

    /// Row `i` of a 2-D tensor as an array.
    @inlinable
    public func row(_ i: Int) -> ArraySlice<T> { scalars[(i * cols)..<((i + 1) * cols)] }

    /// Rows `range` (a contiguous mini-batch).
    @inlinable
    public func rows(_ range: Range<Int>) -> Tensor {
        var newShape = shape
        newShape[0] = range.count
        return Tensor(uncheckedShape: newShape, scalars: Array(scalars[(range.lowerBound * cols)..<(range.upperBound * cols)]))
    }

    /// The rows at `indices`, in that order (a shuffled mini-batch). Indices must be in range.
    @inlinable
    public func gatherRows(_ indices: some Collection<Int>) -> Tensor {
        let c = cols
        var out = [T](repeating: 0, count: indices.count * c)
        out.withUnsafeMutableBufferPointer { dst in
            scalars.withUnsafeBufferPointer { src in
                var o = 0
                for i in indices {
                    let base = src.baseAddress! + i * c
                    (dst.baseAddress! + o).update(from: base, count: c)
                    o += c
                }
            }
        }
        var newShape = shape
        newShape[0] = indices.count
        return Tensor(uncheckedShape: newShape, scalars: out)
    }

    /// The same values in another precision (Float ↔ Double).
    @inlinable
    public func converted<U: TensorScalar>(to: U.Type = U.self) -> Tensor<U> {
        Tensor<U>(uncheckedShape: shape, scalars: scalars.map { U($0) })
    }

    /// Transpose of a 2-D tensor.
    public func transposed() -> Tensor {
        let r = rows, c = cols
        var out = [T](repeating: 0, count: r * c)
        for i in 0..<r { for j in 0..<c { out[j * r + i] = scalars[i * c + j] } }
        return Tensor(uncheckedShape: [c, r], scalars: out)
    }

    /// True when every element is finite (no NaN, no infinity).
    @inlinable
    public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { String(describing: $0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(preview)\(scalars.count > 8 ? ", …" : "")]"
    }
}
