import BihashCore

/// Shuffled mini-batches of sample indices, a fresh seeded permutation every epoch (PyTorch's
/// `DataLoader(shuffle=True, drop_last=…)` index stream). Feed each batch to `Tensor.gatherRows`.
///
/// ```swift
/// var sampler = try BatchSampler(count: x.rows, batchSize: 128, dropLast: false, seed: 1)
/// for epoch in 0..<epochs {
///     for batch in sampler.nextEpoch() { let xb = x.gatherRows(batch); … }
/// }
/// ```
public struct BatchSampler: Sendable {
    /// Number of samples N.
    public let count: Int
    public let batchSize: Int
    /// Whether a last batch smaller than `batchSize` is dropped.
    public let dropLast: Bool
    /// Whether each epoch is shuffled (false: batches in index order, for evaluation).
    public let shuffle: Bool
    /// The source of the permutations; advanced by every `nextEpoch()`.
    public var generator: SeededGenerator

    /// - Throws: `BihashError.invalidArgument` for an empty data set, a batch size < 1, or `dropLast` with
    ///   fewer samples than one batch (which would yield epochs without batches).
    public init(count: Int, batchSize: Int, dropLast: Bool = false, shuffle: Bool = true, seed: UInt64) throws {
        try self.init(count: count, batchSize: batchSize, dropLast: dropLast, shuffle: shuffle,
                      generator: SeededGenerator(seed: seed))
    }

    /// As `init(count:batchSize:dropLast:shuffle:seed:)`, drawing permutations from `generator`.
    public init(count: Int, batchSize: Int, dropLast: Bool = false, shuffle: Bool = true, generator: SeededGenerator) throws {
        try require(count > 0, "BatchSampler: the data set is empty")
        try require(batchSize >= 1, "BatchSampler: batch size must be ≥ 1, got \(batchSize)")
        try require(!dropLast || count >= batchSize,
                    "BatchSampler: \(count) samples make no full batch of \(batchSize) with dropLast")
        self.count = count
        self.batchSize = batchSize
        self.dropLast = dropLast
        self.shuffle = shuffle
        self.generator = generator
    }

    /// Batches per epoch: ⌊N/B⌋ with `dropLast`, ⌈N/B⌉ without.
    public var batchesPerEpoch: Int { dropLast ? count / batchSize : (count + batchSize - 1) / batchSize }

    /// The next epoch's batches: a new permutation of 0..<N (or index order without `shuffle`) cut into
    /// consecutive batches of `batchSize`; the last may be shorter unless `dropLast`.
    public mutating func nextEpoch() -> [[Int]] {
        let order = shuffle ? generator.permutation(count) : Array(0..<count)
        var batches: [[Int]] = []
        batches.reserveCapacity(batchesPerEpoch)
        var start = 0
        while start < count {
            let end = min(start + batchSize, count)
            if dropLast && end - start < batchSize { break }
            batches.append(Array(order[start..<end]))
            start = end
        }
        return batches
    }
}
