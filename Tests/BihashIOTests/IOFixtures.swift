import Foundation
import BihashCore
import BihashNN
import BihashMethods
import BihashData
import _BihashTestSupport
@testable import BihashIO

/// Shared, lazily built test inputs: data (Fashion-MNIST test split when installed, else seeded synthetic) and
/// one small trained model of every kind. Built once per process, under a lock (tests run in parallel).
enum IOFixtures {
    struct Data {
        /// Rows used to train the tiny models.
        let train: Tensor<Float>
        /// 2,000 other rows the exported models are checked on.
        let eval: Tensor<Float>
        let source: String
    }

    /// A model and a label naming it in test output.
    struct Case {
        let label: String
        let model: HashModel
    }

    private static let lock = NSLock()
    private static var cachedData: Data?
    private static var cachedModels: [Case]?

    /// Fashion-MNIST test-split rows 0..<3000 (train) and 3000..<5000 (eval), or seeded uniform data of the
    /// same shape when the dataset is not installed.
    static func data() throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        if let cachedData { return cachedData }
        let d: Data
        if FashionMNIST.isInstalled, let split = try? FashionMNIST.loadSplit(train: false) {
            d = Data(train: split.images.rows(0..<3000), eval: split.images.rows(3000..<5000), source: "Fashion-MNIST test split")
        } else {
            var rng = SeededGenerator(seed: 11)
            let all = Tensor<Float>.uniform([5000, 784], low: 0, high: 1, using: &rng)
            d = Data(train: all.rows(0..<3000), eval: all.rows(3000..<5000), source: "seeded synthetic data")
        }
        cachedData = d
        return d
    }

    /// One model per method and K ∈ {16, 64} (feature recipe, 1 epoch), two autoencoder models (minmax-round
    /// preprocessing, K = 12 and 64), LSH with an odd K = 12, and two hand-built networks covering
    /// BatchNorm1d, GELU, Tanh, Sigmoid, Dropout and a nested Sequential.
    static func models() throws -> [Case] {
        let d = try data()
        lock.lock()
        defer { lock.unlock() }
        if let cachedModels { return cachedModels }
        var cases: [Case] = []
        func train(_ method: HashMethod, _ bits: Int, _ recipe: TrainingConfiguration.Recipe = .features) throws -> HashModel {
            var c = TrainingConfiguration(method: method, bits: bits, recipe: recipe)
            c.scaleMilestones(toEpochs: 1)
            c.seed = 5
            c.itqIterations = 10
            if recipe == .autoencoder { c.hiddenUnits = 64 }
            // Supervised methods (SHC) need labels; the fixture data has none (synthetic fallback), so use the
            // deterministic classes row % 10 and a 1-epoch stage-1 classifier: the export tests check the
            // inference graph, not retrieval quality.
            c.shcClassifierEpochs = 1
            let labels: [Int]? = method.isSupervised ? (0..<d.train.rows).map { $0 % 10 } : nil
            return try Trainer.train(features: d.train, labels: labels, configuration: c).model
        }
        for method in HashMethod.allCases {
            for bits in [16, 64] { cases.append(Case(label: "\(method.rawValue) K=\(bits)", model: try train(method, bits))) }
        }
        cases.append(Case(label: "bihalf autoencoder K=12", model: try train(.bihalf, 12, .autoencoder)))
        cases.append(Case(label: "signreg autoencoder K=64", model: try train(.signreg, 64, .autoencoder)))
        cases.append(Case(label: "lsh K=12", model: try train(.lsh, 12)))
        cases.append(Case(label: "hand-built BN/GELU/Tanh/Sigmoid K=20", model: try handBuilt(bits: 20, seed: 3)))
        cases.append(Case(label: "hand-built SDC-style head K=64", model: try sdcStyle(bits: 64, seed: 4)))
        cachedModels = cases
        return cases
    }

    /// Sets every element of a parameter from `rng` in [low, high).
    static func randomize(_ p: Parameter<Float>, low: Float, high: Float, using rng: inout SeededGenerator) {
        p.value = .uniform(p.value.shape, low: low, high: high, using: &rng)
    }

    /// A batch norm with non-trivial γ, β and running statistics.
    static func batchNorm(_ d: Int, name: String, using rng: inout SeededGenerator) -> BatchNorm1d<Float> {
        let bn = BatchNorm1d<Float>(d, name: name)
        randomize(bn.weight, low: 0.5, high: 1.5, using: &rng)
        randomize(bn.bias, low: -0.2, high: 0.2, using: &rng)
        randomize(bn.runningMean, low: -0.3, high: 0.3, using: &rng)
        randomize(bn.runningVar, low: 0.2, high: 2, using: &rng)
        return bn
    }

    /// Linear → BatchNorm1d → GELU → [Linear → Tanh] (nested) → Dropout → Linear → Sigmoid → Linear(→K) → BatchNorm1d.
    static func handBuilt(bits: Int, seed: UInt64) throws -> HashModel {
        var rng = SeededGenerator(seed: seed)
        let encoder = Sequential<Float>([
            Linear<Float>(784, 48, name: "head.0", using: &rng),
            batchNorm(48, name: "head.1", using: &rng),
            GELU<Float>(),
            Sequential<Float>([Linear<Float>(48, 32, name: "head.3", using: &rng), Tanh<Float>()]),
            try Dropout<Float>(probability: 0.25, seed: 1),
            Linear<Float>(32, 24, name: "head.6", using: &rng),
            Sigmoid<Float>(),
            Linear<Float>(24, bits, name: "head.8", using: &rng),
            batchNorm(bits, name: "head.9", using: &rng),
        ])
        return try HashModel(method: .sign, bits: bits, inputDimension: 784, encoder: encoder, metadata: ["recipe": "hand-built"])
    }

    /// SDC's head shape (ALGORITHMS.md §2.1): Linear → GELU → Linear → BatchNorm1d, here 784 → 128 → K.
    static func sdcStyle(bits: Int, seed: UInt64) throws -> HashModel {
        var rng = SeededGenerator(seed: seed)
        let encoder = Sequential<Float>([
            Linear<Float>(784, 128, name: "phi.0", using: &rng), GELU<Float>(),
            Linear<Float>(128, bits, name: "phi.2", using: &rng), batchNorm(bits, name: "phi.3", using: &rng),
        ])
        return try HashModel(method: .bihalf, bits: bits, inputDimension: 784, encoder: encoder)
    }

    /// A fresh empty directory under the system temporary directory.
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bihash-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Writes a float tensor as raw little-endian float32 (what the Python scripts read with `np.fromfile`).
    static func writeFloats(_ t: Tensor<Float>, to path: String) throws {
        var bytes = [UInt8](repeating: 0, count: t.count * 4)
        bytes.withUnsafeMutableBytes { out in
            for (i, v) in t.scalars.enumerated() { out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        try Foundation.Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Bytes of a hex string.
    static func bytes(hex: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8 = c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }

    /// Compares packed codes from another implementation with bihash's, allowing a bit to differ only where
    /// bihash's pre-sign value is within `tolerance` of 0.
    /// - Returns: (differing bits, of which near zero, bits with |U| ≤ tolerance overall).
    static func compare(_ other: [UInt8], with codes: PackedCodes, presign u: Tensor<Float>,
                        tolerance: Float = 1e-5) -> (differing: Int, nearZero: Int, ambiguous: Int) {
        let k = codes.bits, bpc = codes.bytesPerCode
        var differing = 0, nearZero = 0, ambiguous = 0
        for i in 0..<codes.count {
            for j in 0..<k {
                let v = u.scalars[i * k + j]
                if abs(v) <= tolerance { ambiguous += 1 }
                let index = i * bpc + j / 8
                let otherBit = index < other.count && other[index] & (UInt8(0x80) >> UInt8(j % 8)) != 0
                if otherBit != codes.bit(i, j) {
                    differing += 1
                    if abs(v) <= tolerance { nearZero += 1 }
                }
            }
        }
        return (differing, nearZero, ambiguous)
    }
}
