import Foundation
import Testing
import BihashCore
import BihashMethods
import BihashIO

/// `HashModel.encode` from several threads at once on one model, as a server's request threads call it through
/// `bihash_model_encode*`: each thread encodes its own rows, over and over, and must get exactly the codes a
/// single-threaded encode gives. The models come back from their weights file, as `bihash_model_load` gives them.
/// Timing (that the calls overlap) is not checked: a timing assertion would fail on a busy shared machine.
@Suite struct ConcurrentEncodeTests {
    static let threads = 6

    /// `model` after a trip through its weights file.
    static func reloaded(_ model: HashModel) throws -> HashModel {
        try ModelFile.load(bytes: try ModelFile.serialize(model))
    }

    /// Thread t's batches: `count` seeded feature batches [n, d] in [−2, 2], n = 1...12 rows (mostly small, so that
    /// OpenBLAS runs each product single-threaded, without its own lock, and the threads really overlap).
    static func batches(thread t: Int, count: Int = 12, dimension d: Int, seed: UInt64) -> [Tensor<Float>] {
        var rng = SeededGenerator(seed: seed + UInt64(t))
        return (0..<count).map { c in Tensor<Float>.uniform([1 + (7 * c + t) % 12, d], low: -2, high: 2, using: &rng) }
    }

    /// Encodes `inputs[t]` on thread t (all threads released together), batch after batch, `rounds` times, and
    /// returns the results that differ from the single-threaded codes ("thread t, round r, batch b: …", the first 10).
    /// The feature models run 600 rounds, about 1 s of overlapping encodes: with a scratch buffer deliberately
    /// shared by BatchNorm's eval forwards, the SDC test run alone failed in 0 of 3 runs at 20 rounds, 3 of 5 at
    /// 200 and 6 of 6 at 600.
    static func mismatches(_ model: HashModel, _ inputs: [[Tensor<Float>]], rounds: Int = 600) throws -> [String] {
        let expected = try inputs.map { try $0.map { try model.encode($0).bytes } }
        let gate = StartGate(count: inputs.count)
        let done = DispatchGroup()
        let failures = Failures()
        for (t, batches) in inputs.enumerated() {
            done.enter()
            let thread = Thread {
                gate.wait()
                for r in 0..<rounds {
                    for (b, x) in batches.enumerated() {
                        let message: String?
                        do {
                            message = try model.encode(x).bytes == expected[t][b] ? nil : "codes differ from the single-threaded ones"
                        } catch {
                            message = "\(error)"
                        }
                        if let message { failures.append("thread \(t), round \(r), batch \(b): \(message)") }
                    }
                }
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return failures.all
    }

    /// Trains `c` on seeded features [128, d], reloads the model and checks encodes of it on `threads` threads.
    /// - Returns: the reloaded model.
    @discardableResult
    static func checkTrained(_ c: TrainingConfiguration, dimension d: Int, seed: UInt64) throws -> HashModel {
        var rng = SeededGenerator(seed: seed)
        let features = Tensor<Float>.uniform([128, d], low: -2, high: 2, using: &rng)
        let model = try reloaded(try Trainer.train(features: features, configuration: c).model)
        let inputs = (0..<threads).map { batches(thread: $0, dimension: d, seed: 100 * seed) }
        #expect(try mismatches(model, inputs) == [])
        return model
    }

    /// SDC's head: Linear → GELU → Linear → BatchNorm1d in eval mode (running statistics from training).
    @Test func sdcHead() throws {
        var c = TrainingConfiguration(method: .sdc, bits: 24)
        (c.epochs, c.batchSize, c.sdcHidden) = (2, 16, 48)
        try Self.checkTrained(c, dimension: 32, seed: 1)
    }

    /// Bi-half's autoencoder encoder: min-max-round preprocessing, Linear → ReLU → Linear.
    @Test func biHalfAutoencoder() throws {
        var c = TrainingConfiguration(method: .bihalf, bits: 16, recipe: .autoencoder)
        (c.epochs, c.batchSize, c.hiddenUnits) = (1, 32, 32)
        #expect(try Self.checkTrained(c, dimension: 49, seed: 2).preprocessing == .minMaxRound)
    }

    /// ITQ's projection (one Linear with the centring folded into its bias).
    @Test func itqBaseline() throws {
        var c = TrainingConfiguration(method: .itq, bits: 8)
        c.itqIterations = 5
        try Self.checkTrained(c, dimension: 32, seed: 3)
    }

    /// EfficientNet-Lite0 at 32 px in front of a bi-half head (`BackboneModelTests.model`): 1–3 image rows per batch.
    @Test func backboneModel() throws {
        let model = try Self.reloaded(try BackboneModelTests.model.get())
        let inputs = try (0..<Self.threads).map { t in
            try (0..<2).map { b in try BackboneModelTests.rows(1 + (t + b) % 3, seed: 400 + UInt64(10 * t + b)).0 }
        }
        #expect(try Self.mismatches(model, inputs, rounds: 5) == [])
    }
}

/// Messages appended from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []

    func append(_ message: String) { lock.lock(); messages.append(message); lock.unlock() }
    /// The first 10 messages, and how many more there are.
    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return messages.count <= 10 ? messages : Array(messages.prefix(10)) + ["… and \(messages.count - 10) more"]
    }
}

/// Holds threads until `count` of them wait, then releases them all together.
final class StartGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting = 0
    private let count: Int

    init(count: Int) { self.count = count }

    func wait() {
        condition.lock()
        defer { condition.unlock() }
        waiting += 1
        if waiting >= count { condition.broadcast(); return }
        while waiting < count { condition.wait() }
    }
}
