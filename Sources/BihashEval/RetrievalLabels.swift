import BihashCore

/// Ground-truth labels of queries or database items, deciding which database items are relevant to a query.
///
/// - Single-label (`init(_:)`): one class per item; relevant ⇔ same class.
/// - Multi-label (`init(sets:)`, `init(multiHot:)`): a set of classes per item; relevant ⇔ the sets intersect,
///   i.e. the 0/1 label vectors have a positive dot product (ALGORITHMS.md 1.5).
///
/// Query and database labels must be of the same kind.
public struct RetrievalLabels: Sendable, Equatable {
    enum Storage: Equatable {
        /// One class per item.
        case single([Int])
        /// Bit set of classes per item: `wordsPerItem` words each.
        case multi(words: [UInt64], wordsPerItem: Int)
    }

    /// Largest class id accepted in multi-label sets (bounds the bit-set width).
    public static let maxMultiLabelClass = 65_535

    let storage: Storage
    /// Number of items.
    public let count: Int

    /// Single labels, one class id per item (any integers; equality decides relevance).
    public init(_ labels: [Int]) {
        storage = .single(labels)
        count = labels.count
    }

    /// Multi-label sets: item i has the classes `sets[i]` (ids in 0...65535; an empty set is never relevant).
    /// - Throws: `BihashError.invalidArgument` for a class id out of range.
    public init(sets: [[Int]]) throws {
        let maxClass = sets.lazy.flatMap { $0 }.max() ?? 0
        let minClass = sets.lazy.flatMap { $0 }.min() ?? 0
        try require(minClass >= 0 && maxClass <= RetrievalLabels.maxMultiLabelClass,
                    "multi-label class ids must be in 0...\(RetrievalLabels.maxMultiLabelClass), found \(minClass < 0 ? minClass : maxClass)")
        let w = maxClass / 64 + 1
        var words = [UInt64](repeating: 0, count: sets.count * w)
        for (i, set) in sets.enumerated() {
            for c in set { words[i * w + c / 64] |= 1 << UInt64(c % 64) }
        }
        storage = .multi(words: words, wordsPerItem: w)
        count = sets.count
    }

    /// Multi-hot label vectors [N, C] of 0s and 1s (relevance = dot product > 0).
    /// - Throws: `BihashError.invalidArgument` unless the matrix is 2-D with entries exactly 0 or 1.
    public init<T: TensorScalar>(multiHot: Tensor<T>) throws {
        try require(multiHot.rank == 2, "multi-hot labels must be a [N, C] matrix, got shape \(multiHot.shape)")
        let n = multiHot.rows, c = multiHot.cols
        var sets = [[Int]](repeating: [], count: n)
        for i in 0..<n {
            for j in 0..<c {
                let v = multiHot.scalars[i * c + j]
                try require(v == 0 || v == 1, "multi-hot labels must be 0 or 1, found \(v) at row \(i), column \(j)")
                if v == 1 { sets[i].append(j) }
            }
        }
        try self.init(sets: sets)
    }

    /// True for multi-label storage.
    public var isMultiLabel: Bool {
        if case .multi = storage { return true }
        return false
    }

    /// Whether database item `j` of `database` is relevant to query `i` of `self` (reference, not the fast path).
    public func isRelevant(query i: Int, to database: RetrievalLabels, item j: Int) -> Bool {
        switch (storage, database.storage) {
        case (.single(let q), .single(let d)):
            return q[i] == d[j]
        case (.multi(let q, let qw), .multi(let d, let dw)):
            for k in 0..<Swift.min(qw, dw) where q[i * qw + k] & d[j * dw + k] != 0 { return true }
            return false
        default:
            return false
        }
    }
}
