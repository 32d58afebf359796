/// A set of K-bit binary codes packed eight bits to a byte, the one code layout used everywhere in bihash
/// (codes files, indexes, ONNX output, C ABI).
///
/// Bit order: bit k of a code is bit (7 − k mod 8) of byte k/8 (MSB first, as `numpy.packbits`).
/// A set bit means +1, a clear bit −1. When K is not a multiple of 8 the unused low bits of the last byte
/// are zero, so byte-wise XOR/popcount gives the Hamming distance directly.
public struct PackedCodes: Equatable, Sendable {
    /// Largest code width bihash accepts.
    public static let maxBits = 4096

    /// K, the number of bits per code.
    public let bits: Int
    /// Number of codes.
    public let count: Int
    /// `count * bytesPerCode` bytes, code after code.
    public private(set) var bytes: [UInt8]

    /// ⌈K/8⌉: bytes per code.
    @inlinable public var bytesPerCode: Int { (bits + 7) / 8 }

    /// Validates `bits` (1…4096), the byte count, and that padding bits are zero.
    public init(bits: Int, count: Int, bytes: [UInt8]) throws {
        try PackedCodes.validateBits(bits)
        try require(count >= 0, "code count must be ≥ 0, got \(count)")
        let bpc = (bits + 7) / 8
        let (needed, overflow) = count.multipliedReportingOverflow(by: bpc)
        try require(!overflow && needed == bytes.count,
                    "\(count) codes of \(bits) bits need \(overflow ? "too many" : String(needed)) bytes, got \(bytes.count)")
        let padMask = PackedCodes.paddingMask(bits: bits)
        if padMask != 0 {
            for i in 0..<count where bytes[i * bpc + bpc - 1] & padMask != 0 {
                throw BihashError.invalidFormat("code \(i) has non-zero padding bits (K = \(bits) is not a multiple of 8)")
            }
        }
        self.bits = bits
        self.count = count
        self.bytes = bytes
    }

    /// An empty set of `bits`-bit codes.
    public init(bits: Int) throws {
        try self.init(bits: bits, count: 0, bytes: [])
    }

    /// Throws unless 1 ≤ bits ≤ 4096.
    public static func validateBits(_ bits: Int) throws {
        try require((1...maxBits).contains(bits), "number of bits K must be in 1...\(maxBits), got \(bits)")
    }

    /// Mask of the unused low bits of a code's last byte (0 when K is a multiple of 8).
    @inlinable
    public static func paddingMask(bits: Int) -> UInt8 {
        let used = bits % 8
        return used == 0 ? 0 : UInt8(0xFF >> used)
    }

    /// Codes b = sign(u) of the rows of a real matrix u: [N, K], with sign(0) = +1 (a set bit).
    public init<T: TensorScalar>(signsOf u: Tensor<T>) throws {
        try require(u.rank == 2, "expected a [N, K] matrix, got shape \(u.shape)")
        let n = u.rows, k = u.cols
        try PackedCodes.validateBits(k)
        let bpc = (k + 7) / 8
        var out = [UInt8](repeating: 0, count: n * bpc)
        u.scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let row = i * k, base = i * bpc
                    for j in 0..<k where src[row + j] >= 0 {  // NaN compares false → bit 0 (−1)
                        dst[base + (j >> 3)] |= UInt8(0x80) >> UInt8(j & 7)
                    }
                }
            }
        }
        self.bits = k
        self.count = n
        self.bytes = out
    }

    /// The bytes of code `i`.
    @inlinable
    public func code(_ i: Int) -> ArraySlice<UInt8> {
        bytes[(i * bytesPerCode)..<((i + 1) * bytesPerCode)]
    }

    /// Bit `k` of code `i` (true = +1).
    @inlinable
    public func bit(_ i: Int, _ k: Int) -> Bool {
        bytes[i * bytesPerCode + (k >> 3)] & (UInt8(0x80) >> UInt8(k & 7)) != 0
    }

    /// The codes as a ±1 matrix [count, bits].
    public func signs<T: TensorScalar>(as: T.Type = Float.self) -> Tensor<T> {
        var out = [T](repeating: -1, count: count * bits)
        for i in 0..<count { for k in 0..<bits where bit(i, k) { out[i * bits + k] = 1 } }
        return Tensor(uncheckedShape: [count, bits], scalars: out)
    }

    /// Appends the codes of `other` (same K).
    public mutating func append(contentsOf other: PackedCodes) throws {
        try require(other.bits == bits, "cannot append \(other.bits)-bit codes to \(bits)-bit codes")
        bytes.append(contentsOf: other.bytes)
        self = PackedCodes(unchecked: bits, count: count + other.count, bytes: bytes)
    }

    /// The codes at `indices`, in that order.
    public func gather(_ indices: [Int]) -> PackedCodes {
        var out = [UInt8]()
        out.reserveCapacity(indices.count * bytesPerCode)
        for i in indices { out.append(contentsOf: code(i)) }
        return PackedCodes(unchecked: bits, count: indices.count, bytes: out)
    }

    @usableFromInline
    init(unchecked bits: Int, count: Int, bytes: [UInt8]) {
        self.bits = bits
        self.count = count
        self.bytes = bytes
    }

    /// Hamming distance between code `i` of `self` and code `j` of `other` (reference implementation,
    /// byte by byte; `BihashIndex` has the fast kernels).
    /// - Throws: `BihashError.invalidArgument` if the codes have different widths or `i` or `j` is not the index of
    ///   a code.
    public func hammingDistance(code i: Int, to other: PackedCodes, code j: Int) throws -> Int {
        try require(bits == other.bits,
                    "Hamming distance between codes of different widths: \(bits) and \(other.bits) bits")
        try require((0..<count).contains(i), "code index \(i) is outside 0..<\(count)")
        try require((0..<other.count).contains(j), "code index \(j) of the other codes is outside 0..<\(other.count)")
        return hammingDistance(i, to: other, j)
    }

    /// `hammingDistance(code:to:code:)` for callers inside the package that have checked the widths and indices.
    package func hammingDistance(_ i: Int, to other: PackedCodes, _ j: Int) -> Int {
        precondition(bits == other.bits, "Hamming distance between codes of different widths")
        let bpc = bytesPerCode
        var d = 0
        for b in 0..<bpc { d += (bytes[i * bpc + b] ^ other.bytes[j * bpc + b]).nonzeroBitCount }
        return d
    }
}
