import ArgumentParser
import CBihashABI
import Foundation

/// `bihash train`: trains a model on a feature matrix and writes its weights file.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a hashing model and write it as a weights file (safetensors).")

    @Option(help: "bihalf, sign, signreg, greedyhash, lsh, itq, sdc or shc (supervised: needs labels).")
    var method: String

    @Option(help: "Bits per code, K (1...4096).")
    var bits: Int

    @Option(help: "Training data: a .npy matrix, an IDX file, a protocol name such as fashion-mnist (its train part; name:part for another), or a directory of PNG/JPEG images (class subdirectories give labels).")
    var input: String

    @Option(help: "For an image directory: the side S of the S×S input images (default 28; with --backbone 96).")
    var imageSize: Int?

    @Option(help: "For an image directory: 1 (grey) or 3 (RGB) channels (default 1; with --backbone 3).")
    var channels: Int?

    @Option(help: "A frozen pretrained CNN in front of the hash head: efficientnet-lite0 (ImageNet, 1280 features). The input must be images.")
    var backbone: String?

    @Option(help: "The backbone's safetensors weights (default: the file tools/setup creates, see README).")
    var backboneWeights: String?

    @Option(help: "Directory caching backbone features between runs (default: none).")
    var featureCache: String?

    @Option(help: "Class labels (.npy or IDX) for the input rows; required by shc unless the input is a protocol, whose labels are used.")
    var labels: String?

    @Option(help: "Epochs (ignored by lsh and itq).")
    var epochs: Int?

    @Option(help: "Mini-batch size.")
    var batchSize: Int?

    @Option(help: "Learning rate.")
    var lr: Double?

    @Option(help: "Random seed.")
    var seed: UInt64?

    @Option(help: "features (Linear(D->K) head) or autoencoder (784-256-K). Default: features.")
    var recipe: String?

    @Option(help: "γ of the binarizer's backward pull (default: the method's).")
    var gamma: Double?

    @Option(name: .customLong("beta-a"), help: "SDC: a of the Beta(a, b) calibration distribution (default 5).")
    var betaA: Double?

    @Option(name: .customLong("beta-b"), help: "SDC: b of the Beta(a, b) calibration distribution (default 5).")
    var betaB: Double?

    @Flag(help: "SDC: the contrastive variant (two augmented views, NT-Xent); needs image data such as fashion-mnist.")
    var contrastive = false

    @Flag(help: "No progress or summary on stderr.")
    var quiet = false

    @Option(name: [.short, .customLong("output")], help: "Model file to write.")
    var output: String

    func run() throws {
        if backbone == nil && (backboneWeights != nil || featureCache != nil) {
            throw ValidationError("--backbone-weights and --feature-cache need --backbone")
        }
        let side = imageSize ?? (backbone == nil ? 28 : 96)
        let data = try DataSource(input, defaultPart: "train").load(imageSize: side, channels: channels ?? (backbone == nil ? 1 : 3))
        defer { bihash_data_free(data) }
        if let labels { try check(bihash_data_load_labels(data, labels), labels) }

        var options: OpaquePointer?
        try check(bihash_train_options_new(&options))
        defer { bihash_train_options_free(options) }
        try check(bihash_train_options_set_method(options, method), "--method")
        if let recipe { try check(bihash_train_options_set_recipe(options, recipe), "--recipe") }
        try check(bihash_train_options_set_bits(options, Int32(clamping: bits)), "--bits")
        if let epochs { try check(bihash_train_options_set_epochs(options, Int32(clamping: epochs)), "--epochs") }
        if let batchSize {
            try check(bihash_train_options_set_batch_size(options, Int32(clamping: batchSize)), "--batch-size")
        }
        if let lr { try check(bihash_train_options_set_learning_rate(options, lr), "--lr") }
        if let seed { try check(bihash_train_options_set_seed(options, seed), "--seed") }
        if let gamma { try check(bihash_train_options_set_gamma(options, gamma), "--gamma") }
        if betaA != nil || betaB != nil {
            try check(bihash_train_options_set_beta(options, betaA ?? 5, betaB ?? 5), "--beta-a/--beta-b")
        }
        if contrastive { try check(bihash_train_options_set_contrastive(options, 1), "--contrastive") }
        if let backbone {
            try check(bihash_train_options_set_backbone(options, backbone, backboneWeights, Int32(clamping: side)), "--backbone")
            if let featureCache { try check(bihash_train_options_set_feature_cache(options, featureCache), "--feature-cache") }
            if !quiet { printError("computing \(backbone) features (\(side)×\(side) px) of \(bihash_data_rows(data)) images before training…\n") }
        }
        if !quiet && stderrIsTerminal {
            try check(bihash_train_options_set_progress(options, { progress, _ in
                guard let p = progress?.pointee else { return 0 }
                printError(String(format: "epoch %d/%d  loss %.6f  lr %.3g  %.2f s  %.0f samples/s\n",
                                  p.epoch, p.epochs, p.loss, p.learning_rate, p.seconds, p.samples_per_second))
                return 0
            }, nil))
        }

        // Image data (e.g. the fashion-mnist protocol) make a model that also encodes image files.
        var width: Int32 = 0, height: Int32 = 0, channels: Int32 = 0
        try check(bihash_data_image_shape(data, &width, &height, &channels), input)
        if width > 0 {
            try check(bihash_train_options_set_image_input(options, width, height, channels), input)
        }

        let rows = bihash_data_rows(data), cols = bihash_data_cols(data)
        var model: OpaquePointer?
        try check(bihash_train(options, bihash_data_features(data), rows, cols, bihash_data_labels(data), &model),
                  "train")
        defer { bihash_model_free(model) }
        try check(bihash_model_save(model, output), output)
        if !quiet {
            printError("trained \(method), \(bits) bits, on \(rows) × \(cols) → \(output)\n")
        }
    }
}
