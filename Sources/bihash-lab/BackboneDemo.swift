import ArgumentParser
import BihashCore
import BihashData
import BihashEval
import BihashIO
import BihashMethods
import Foundation

/// `bihash-lab backbone-demo`: TARGETS.md's backbone rows. Fashion-MNIST through EfficientNet-Lite0
/// (28×28 grey → S×S RGB by area resize → 1280-d features), protocol `fashion-mnist-20k` (1,000 queries, 100 per
/// class of the test split; database = train = 20,000 training images, 2,000 per class, shuffled), one head per
/// method and width, mAP@1000 and mAP@All. The same methods on the raw pixels give the comparison rows.
struct BackboneDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backbone-demo",
        abstract: "Hash EfficientNet-Lite0 features of Fashion-MNIST (fashion-mnist-20k protocol) and print mAP@1000.")

    @Option(help: "Comma-separated methods (bihalf, greedyhash, itq, lsh, sdc, shc, sign, signreg).")
    var methods = "bihalf,sdc,itq,greedyhash,shc"
    @Option(help: "Comma-separated code widths.")
    var bits = "16,32,64"
    @Option(help: "Epochs of every trained head (TARGETS.md: 20).")
    var epochs = 20
    @Option(help: "Image side S the backbone sees (TARGETS.md: 96).")
    var imageSize = 96
    @Option(help: "Methods also trained on the raw pixels, at the largest width (comma-separated; empty for none).")
    var pixelMethods = "bihalf"
    @Option(help: "Directory caching the features (default: $XDG_CACHE_HOME or ~/.cache, then bihash/).")
    var cache: String?
    @Option(help: "EfficientNet-Lite0 weights (default: the file tools/setup creates).")
    var weights: String?
    @Option(help: "Random seed.")
    var seed: UInt64 = 0
    @Flag(help: "No progress on stderr.")
    var quiet = false

    func run() throws {
        let methodList = try methods.split(separator: ",").map { try HashMethod(name: String($0)) }
        let pixelList = try pixelMethods.split(separator: ",").map { try HashMethod(name: String($0)) }
        let widths = try bits.split(separator: ",").map { s -> Int in
            guard let k = Int(s) else { throw ValidationError("--bits: '\(s)' is not an integer") }
            return k
        }
        let data = try FashionMNIST.loadBalancedSubset()
        let backbone = try ImageBackbone(name: "efficientnet-lite0",
                                         weights: BackboneFile.loadEfficientNetLite0Weights(path: weights), imageSize: imageSize)
        let cacheDir = try cache ?? defaultCacheDirectory()
        let started = Date()
        let db = try features(of: data.databaseFeatures, part: "database", backbone: backbone, cacheDir: cacheDir)
        let queries = try features(of: data.queryFeatures, part: "query", backbone: backbone, cacheDir: cacheDir)
        note(String(format: "features: %d + %d images at %d px in %.0f s", db.rows, queries.rows, imageSize, Date().timeIntervalSince(started)))
        // The labels in the same row order, so a reference (tools/reference/greedyhash_reference.py) trains and
        // evaluates on exactly these inputs.
        for (part, labels) in [("database", data.databaseLabels), ("query", data.queryLabels)] {
            try NPY.write(int64: labels, shape: [labels.count], to: "\(cacheDir)/fashion-mnist-20k-\(part)-labels.npy")
        }

        var rows: [(String, String, Int, Double, Double)] = []  // input, method, K, mAP@1000, mAP@All
        // The float baseline: cosine k-NN on the features themselves (no hashing), TARGETS.md's last row.
        let cosine = try cosineMAP(queries: queries, database: db, queryLabels: data.queryLabels,
                                   databaseLabels: data.databaseLabels, cutoff: 1000)
        note(String(format: "float cosine k-NN on the features: mAP@1000 %.4f", cosine))
        func run(_ method: HashMethod, _ k: Int, train: Tensor<Float>, query: Tensor<Float>, input: String) throws {
            var c = TrainingConfiguration(method: method, bits: k, recipe: .features)
            c.scaleMilestones(toEpochs: epochs)
            c.seed = seed
            let t0 = Date()
            let result = try Trainer.train(features: train, labels: method.isSupervised ? data.trainLabels : nil, configuration: c)
            let report = try RetrievalEvaluator.evaluate(
                queries: try result.model.encode(query), queryLabels: RetrievalLabels(data.queryLabels),
                database: try result.model.encode(train), databaseLabels: RetrievalLabels(data.databaseLabels),
                options: EvaluationOptions(mapCutoffs: [1000], precisionCutoffs: [], radii: [], includePRCurve: false))
            rows.append((input, method.rawValue, k, report.mapAt[0].value, report.mapAll))
            note(String(format: "%@ %@ K=%d: mAP@1000 %.4f, mAP@All %.4f (%.0f s)", input, method.rawValue, k,
                        report.mapAt[0].value, report.mapAll, Date().timeIntervalSince(t0)))
        }
        for k in widths { for m in methodList { try run(m, k, train: db, query: queries, input: "EfficientNet-Lite0 \(imageSize) px") } }
        if let k = widths.max() {
            for m in pixelList { try run(m, k, train: data.databaseFeatures, query: data.queryFeatures, input: "pixels 28×28") }
        }
        print("fashion-mnist-20k (1,000 queries, 20,000 database = train), \(epochs) epochs, seed \(seed); mAP@1000 / mAP@All")
        print("| input | method | bits | mAP@1000 | mAP@All |")
        print("|---|---|---|---|---|")
        for r in rows { print(String(format: "| %@ | %@ | %d | %.4f | %.4f |", r.0, r.1, r.2, r.3, r.4)) }
        print(String(format: "| EfficientNet-Lite0 %d px | float cosine k-NN (no hashing) | — | %.4f | — |", imageSize, cosine))
    }

    /// mAP@R of ranking the database by cosine similarity to each query (ties by database index), with
    /// `RetrievalEvaluator`'s AP@R = Σ_{k≤R} P@k·rel_k ÷ (relevant items in the top R).
    func cosineMAP(queries: Tensor<Float>, database: Tensor<Float>, queryLabels: [Int], databaseLabels: [Int],
                   cutoff: Int) throws -> Double {
        func normalized(_ x: Tensor<Float>) -> Tensor<Float> {
            var y = x
            for i in 0..<x.rows {
                let row = Array(x.row(i))
                let norm = max(1e-12, row.reduce(0) { $0 + $1 * $1 }.squareRoot())
                for j in 0..<x.cols { y.scalars[i * x.cols + j] = row[j] / norm }
            }
            return y
        }
        let s = try Tensor.matmul(normalized(queries), normalized(database), transposeB: true)
        let n = database.rows, r = min(cutoff, n)
        var total = 0.0
        for q in 0..<queries.rows {
            let scores = Array(s.scalars[(q * n)..<((q + 1) * n)])
            let order = (0..<n).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
            var hits = 0, sum = 0.0
            for k in 0..<r where databaseLabels[order[k]] == queryLabels[q] {
                hits += 1
                sum += Double(hits) / Double(k + 1)
            }
            total += hits > 0 ? sum / Double(hits) : 0
        }
        return total / Double(queries.rows)
    }

    func defaultCacheDirectory() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/bihash" }
        guard let home = env["HOME"], !home.isEmpty else { throw ValidationError("set --cache (no HOME)") }
        return home + "/.cache/bihash"
    }

    /// Backbone features of Fashion-MNIST pixel rows, from the cache or computed (and cached).
    func features(of pixels: Tensor<Float>, part: String, backbone: ImageBackbone, cacheDir: String) throws -> Tensor<Float> {
        let path = "\(cacheDir)/fashion-mnist-20k-\(part)-\(backbone.name)-\(backbone.imageSize).npy"
        if let cached = try? NPY.read(path: path), cached.shape == [pixels.rows, backbone.featureDimension] {
            note("\(part): cached features \(path)")
            return try cached.floatMatrix()
        }
        var out = [Float]()
        out.reserveCapacity(pixels.rows * backbone.featureDimension)
        let chunk = 512
        var start = 0
        let t0 = Date()
        while start < pixels.rows {
            let end = min(pixels.rows, start + chunk)
            let rows = try ImageDecoder.convertRows(pixels.rows(start..<end), from: (28, 28, 1), to: (backbone.imageSize, backbone.imageSize, 3))
            out += try backbone.features(rows: rows).scalars
            start = end
            if !quiet && stderrIsTTY {
                note(String(format: "  %@: %d/%d images, %.0f images/s", part, start, pixels.rows, Double(start) / Date().timeIntervalSince(t0)))
            }
        }
        let f = Tensor(uncheckedShape: [pixels.rows, backbone.featureDimension], scalars: out)
        try FileManager.default.createDirectory(atPath: cacheDir, withIntermediateDirectories: true)
        try NPY.write(f, to: path)
        return f
    }
}
