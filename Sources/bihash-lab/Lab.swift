// bihash-lab: developer experiments on real data, used by tools/demo and tools/bench/train, and the save loop
// killed by the crash-safety test (Tests/BihashCLITests/CrashSafetyTests.swift).
// It calls the Swift modules directly; the user-facing CLI (`bihash`) goes through the C ABI instead.
import ArgumentParser
import BihashCore
import BihashData
import BihashEval
import BihashIndex
import BihashIO
import BihashMethods
import BihashNN
import Foundation

@main
struct Lab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bihash-lab",
        abstract: "bihash developer experiments: the Fashion-MNIST demos, the training benchmark, the crash-safety save loop.",
        subcommands: [Demo.self, BenchTrain.self, BackboneDemo.self, SaveLoop.self, CheckSaved.self])
}

/// Writes a line to standard error (progress and notes; results go to standard output).
func note(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

let stderrIsTTY = isatty(STDERR_FILENO) != 0

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the autoencoder recipe on Fashion-MNIST and print mAP@All (10k queries vs 60k database).")

    @Option(help: "Comma-separated methods (bihalf, sign, signreg, greedyhash, lsh, itq, sdc, shc).")
    var methods = "bihalf,sign,signreg"
    @Option(help: "Comma-separated code widths.")
    var bits = "16,32"
    @Option(help: "Epochs (learning rate ×0.1 at 60% and 80%, as the reference's 60/80 of 100).")
    var epochs = 20
    @Option(help: "Random seed.")
    var seed: UInt64 = 0
    @Option(help: "Training recipe: autoencoder (pixels, BCE reconstruction) or features (similarity preservation).")
    var recipe = "autoencoder"
    @Flag(help: "No per-epoch progress on stderr.")
    var quiet = false

    func run() throws {
        let methodList = try methods.split(separator: ",").map { try HashMethod(name: String($0)) }
        let widths = try bits.split(separator: ",").map { s -> Int in
            guard let k = Int(s) else { throw ValidationError("--bits: '\(s)' is not an integer") }
            return k
        }
        guard let recipeKind = TrainingConfiguration.Recipe(rawValue: recipe) else {
            throw ValidationError("--recipe must be one of: \(TrainingConfiguration.Recipe.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let data = try Protocols.load(name: "fashion-mnist")
        note("fashion-mnist: train \(data.trainFeatures.rows), queries \(data.queryFeatures.rows), database \(data.databaseFeatures.rows); \(recipeKind.rawValue) recipe, \(epochs) epochs, seed \(seed)")
        var rows: [(String, Int, Double, Double, Double)] = []  // method, K, mAP@All, mAP@1000, s/epoch
        for k in widths {
            for method in methodList {
                var c = TrainingConfiguration(method: method, bits: k, recipe: recipeKind)
                c.scaleMilestones(toEpochs: epochs)
                c.seed = seed
                let showProgress = !quiet && stderrIsTTY
                let result = try Trainer.train(features: data.trainFeatures, labels: method.isSupervised ? data.trainLabels : nil,
                                               configuration: c) { r in
                    if showProgress {
                        note(String(format: "  %@ K=%d epoch %d/%d loss %.5f lr %.1e %.1fs (%.0f samples/s)",
                                    method.rawValue, k, r.epoch, r.epochs, r.loss, r.learningRate, r.seconds, r.samplesPerSecond))
                    }
                    return true
                }
                let queries = try result.model.encode(data.queryFeatures)
                let database = try result.model.encode(data.databaseFeatures)
                let report = try RetrievalEvaluator.evaluate(
                    queries: queries, queryLabels: RetrievalLabels(data.queryLabels),
                    database: database, databaseLabels: RetrievalLabels(data.databaseLabels),
                    options: EvaluationOptions(mapCutoffs: [1000], precisionCutoffs: [], radii: [], includePRCurve: false))
                rows.append((method.rawValue, k, report.mapAll, report.mapAt[0].value, result.medianEpochSeconds))
                note(String(format: "%@ K=%d: mAP@All %.4f, mAP@1000 %.4f, %.2f s/epoch", method.rawValue, k,
                            report.mapAll, report.mapAt[0].value, result.medianEpochSeconds))
            }
        }
        print("Fashion-MNIST, \(recipeKind.rawValue) recipe, \(epochs) epochs, seed \(seed); 10,000 queries vs 60,000 database items")
        print("| method | bits | mAP@All | mAP@1000 | s/epoch |")
        print("|---|---|---|---|---|")
        for r in rows {
            print(String(format: "| %@ | %d | %.4f | %.4f | %.2f |", r.0, r.1, r.2, r.3, r.4))
        }
    }
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-train",
        abstract: "Train bi-half on a .npy matrix and print per-epoch samples/s as JSON (for tools/bench/train).")

    @Option var recipe = "autoencoder"
    @Option var input: String
    @Option var bits = 16
    @Option var batchSize = 128
    @Option var epochs = 3
    @Option(help: "OpenBLAS threads.")
    var threads = 1

    func run() throws {
        guard let recipeKind = TrainingConfiguration.Recipe(rawValue: recipe) else {
            throw ValidationError("--recipe must be autoencoder or features")
        }
        BLASThreads.set(threads)
        let x = try FeatureMatrix.load(path: input)
        var c = TrainingConfiguration(method: .bihalf, bits: bits, recipe: recipeKind)
        c.epochs = epochs
        c.batchSize = batchSize
        c.learningRateMilestones = []
        if recipeKind == .features { c.weightDecay = 0 }
        let result = try Trainer.train(features: x, configuration: c)
        let rates = result.epochs.map { String(format: "%.1f", $0.samplesPerSecond) }.joined(separator: ", ")
        print("{\"samples_per_s\": [\(rates)]}")
    }
}

// MARK: - Crash safety

/// The files `save-loop` writes and `check-saved` verifies. Generation g of each kind is a pure function of g,
/// so another process can rebuild the exact bytes every generation must have. Even and odd generations differ in
/// size (and in every weight, code and id), so no mix of two versions can pass for either.
enum SavedKind: String, CaseIterable, ExpressibleByArgument {
    case model, codes, index

    /// Codes per codes or index file: 4,000 or 6,000 codes of 64 bits (32 or 48 KB).
    static func rows(_ g: UInt64) -> Int { g % 2 == 0 ? 4_000 : 6_000 }

    /// A 128 → 32 or 48 → 32 network (about 21 or 31 KB of weights), generation in its metadata.
    static func model(_ g: UInt64) throws -> HashModel {
        var rng = SeededGenerator(seed: g)
        let hidden = g % 2 == 0 ? 32 : 48
        let encoder = Sequential<Float>([
            Linear<Float>(128, hidden, name: "head.0", using: &rng), Tanh<Float>(),
            Linear<Float>(hidden, 32, name: "head.2", using: &rng),
        ])
        return try HashModel(method: .sign, bits: 32, inputDimension: 128, encoder: encoder,
                             metadata: ["generation": String(g)])
    }

    /// Seeded random 64-bit codes.
    static func codes(_ g: UInt64) throws -> PackedCodes {
        var rng = SeededGenerator(seed: g)
        let n = rows(g)
        var bytes = [UInt8](repeating: 0, count: n * 8)
        for i in 0..<n {
            let v = rng.next()
            for j in 0..<8 { bytes[i * 8 + j] = UInt8(truncatingIfNeeded: v >> (8 * j)) }
        }
        return try PackedCodes(bits: 64, count: n, bytes: bytes)
    }

    /// A codes file whose fingerprint starts with g (little-endian).
    static func codesFile(_ g: UInt64) throws -> CodesFile {
        let fingerprint = (0..<32).map { $0 < 8 ? UInt8(truncatingIfNeeded: g >> (8 * $0)) : 0 }
        return try CodesFile(codes: codes(g), fingerprint: fingerprint)
    }

    /// An index whose ids are g·2³² + row.
    static func index(_ g: UInt64) throws -> FlatIndex {
        let c = try codes(g)
        return try FlatIndex(codes: c, ids: (0..<UInt64(c.count)).map { g << 32 | $0 })
    }

    /// Writes generation g to `path` through the library's own save function.
    func save(_ g: UInt64, to path: String) throws {
        switch self {
        case .model: try ModelFile.save(SavedKind.model(g), to: path)
        case .codes: try SavedKind.codesFile(g).write(to: path)
        case .index: try IndexFile.write(SavedKind.index(g), to: path)
        }
    }

    /// Loads `path` with the library's normal loader, reads which generation it claims to be, and checks that
    /// the file is exactly that generation: its bytes (model, codes) or its loaded items and whole-file checksum
    /// (index) equal a fresh rebuild's.
    /// - Returns: the generation.
    func check(_ path: String) throws -> UInt64 {
        let g: UInt64
        switch self {
        case .model:
            let loaded = try ModelFile.load(path: path)  // safetensors parser, model checks, fingerprint
            guard let text = loaded.metadata["generation"], let value = UInt64(text) else {
                throw BihashError.invalidFormat("\(path): no generation in the model's metadata")
            }
            g = value
            try SavedKind.requireBytes(of: path, equal: ModelFile.serialize(SavedKind.model(g)), generation: g)
        case .codes:
            let loaded = try CodesFile.read(path)  // sizes and checksum verified
            g = loaded.fingerprint.prefix(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            let file = try SavedKind.codesFile(g)
            guard loaded == file else { throw BihashError.invalidFormat("\(path): codes differ from generation \(g)'s") }
            try SavedKind.requireBytes(of: path, equal: file.encoded(), generation: g)
        case .index:
            let loaded = try IndexFile.open(path)  // mmap; every header field and the checksum of the whole file
            let (codes, ids) = try loaded.items()
            guard let first = ids.first else { throw BihashError.invalidFormat("\(path): the index is empty") }
            g = first >> 32
            let (wantCodes, wantIDs) = try SavedKind.index(g).items()
            guard codes == wantCodes, ids == wantIDs else {
                throw BihashError.invalidFormat("\(path): items differ from generation \(g)'s")
            }
        }
        return g
    }

    static func requireBytes(of path: String, equal expected: [UInt8], generation g: UInt64) throws {
        guard let raw = FileManager.default.contents(atPath: path) else { throw BihashError.io("cannot read \(path)") }
        guard [UInt8](raw) == expected else {
            throw BihashError.invalidFormat("\(path): its \(raw.count) bytes differ from generation \(g)'s \(expected.count)")
        }
    }
}

struct SaveLoop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save-loop",
        abstract: "Save generations start, start+1, … of a model, codes or index file to one path, printing `saved G` after each (for the crash-safety test, which SIGKILLs it).")

    @Option(help: "model, codes or index.")
    var kind: SavedKind
    @Option(help: "The file to overwrite again and again.")
    var path: String
    @Option(help: "First generation.")
    var start: UInt64 = 0
    @Option(help: "Generations to save (default: until killed).")
    var count: UInt64?
    @Flag(help: "Serve: for each `start G` line on stdin fork a child that saves from generation G until killed, print `pid P`, and once it has ended `ended P S` (S: its wait status). Spares the test a process start-up per kill.")
    var forkServer = false

    func run() throws {
        if forkServer { try serve() } else { try save(from: start, count: count) }
    }

    func save(from first: UInt64, count: UInt64?) throws {
        var g = first
        while count.map({ g - first < $0 }) ?? true {
            try kind.save(g, to: path)
            // Unbuffered: the line is in the pipe before the next save begins, so the killer knows which
            // generation was last completed.
            say("saved \(g)")
            g += 1
        }
    }

    func serve() throws {
        var pending = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let n = read(STDIN_FILENO, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            pending += buffer[0..<n]
            while let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                guard line.hasPrefix("start "), let g = UInt64(line.dropFirst(6)) else {
                    throw ValidationError("--fork-server: unknown command '\(line)' (expected `start G`)")
                }
                // fork copies only the calling thread: safe while this process has no other.
                let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
                guard threads == 1 else {
                    let names = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).map {
                        (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8)) ?? "?"
                    }
                    throw ValidationError("--fork-server: \(threads) threads (\(names)); fork needs exactly 1")
                }
                let pid = fork()
                guard pid >= 0 else { throw BihashError.io("fork: \(String(cString: strerror(errno)))") }
                if pid == 0 {
                    do { try save(from: g, count: nil) } catch { note("bihash-lab save-loop: \(error)") }
                    _exit(1)
                }
                say("pid \(pid)")
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                say("ended \(pid) \(status)")
            }
        }
    }

    /// Writes a line to stdout at once (one `write`, no buffering).
    func say(_ s: String) {
        let line = Array((s + "\n").utf8)
        _ = line.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }
}

struct CheckSaved: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-saved",
        abstract: "Load files written by save-loop with the normal loaders; print `ok G` (the complete generation G) or `bad REASON`, one line per file.")

    @Option(help: "model, codes or index.")
    var kind: SavedKind
    @Argument(help: "Files to check.")
    var files: [String]

    func run() throws {
        var bad = 0
        for f in files {
            do {
                print("ok \(try kind.check(f))")
            } catch {
                bad += 1
                print("bad \(String(describing: error).replacingOccurrences(of: "\n", with: " "))")
            }
        }
        if bad > 0 { throw ExitCode(1) }
    }
}
