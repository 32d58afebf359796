// bihash-lab: developer experiments on real data, used by tools/demo and tools/bench/train.
// It calls the Swift modules directly; the user-facing CLI (`bihash`) goes through the C ABI instead.
import ArgumentParser
import BihashCore
import BihashData
import BihashEval
import BihashMethods
import Foundation

@main
struct Lab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bihash-lab",
        abstract: "bihash developer experiments: the Fashion-MNIST demo and the training benchmark.",
        subcommands: [Demo.self, BenchTrain.self, BackboneDemo.self])
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
