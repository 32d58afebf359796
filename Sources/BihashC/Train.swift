// bihash_train_options and bihash_train.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CBihashABI
import BihashCore
import BihashData
import BihashIO
import BihashMethods

/// Training options: a `TrainingConfiguration`, the progress callback and the image shape to record on the model.
final class TrainOptionsHandle: Handle {
    override class var typeName: String { "bihash_train_options" }
    var configuration = TrainingConfiguration(method: .bihalf, bits: 64, recipe: .features)
    var callback: bihash_progress_fn?
    var userData: UnsafeMutableRawPointer?
    var imageInput: ImageInput?
    /// A frozen CNN whose features the head is trained on (`bihash_train_options_set_backbone`).
    var backbone: ImageBackbone?
    /// Where backbone features are cached (`bihash_train_options_set_feature_cache`); nil = no cache.
    var featureCache: FeatureCache?

    /// Starts from the reference defaults of `method` and `recipe` (epochs, batch size, optimizer, learning rate,
    /// weight decay, milestones), keeping what the caller chose that is not a hyper-parameter of the recipe.
    func resetDefaults(method: HashMethod, recipe: TrainingConfiguration.Recipe) {
        let old = configuration
        var c = TrainingConfiguration(method: method, bits: old.bits, recipe: recipe)
        c.seed = old.seed
        c.gamma = old.gamma
        c.betaA = old.betaA
        c.betaB = old.betaB
        c.sdcContrastive = old.sdcContrastive
        configuration = c
    }
}

/// The C entry point `bihash_train_options_new`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_new")
public func bihashV1_train_options_new(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_train_options_new") {
        let out = try nonNull(out, "out")
        out.pointee = retainedHandle(TrainOptionsHandle())
    }
}

/// The C entry point `bihash_train_options_free`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_free")
public func bihashV1_train_options_free(_ options: OpaquePointer?) {
    releaseHandle(options)
}

/// Runs a setter on the options behind `options`.
private func setOption(_ function: StaticString, _ options: OpaquePointer?, _ body: (TrainOptionsHandle) throws -> Void) -> Int32 {
    guarded(function) { try body(try object(options, "options")) }
}

/// The C entry point `bihash_train_options_set_method`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_method")
public func bihashV1_train_options_set_method(_ options: OpaquePointer?, _ method: UnsafePointer<CChar>?) -> Int32 {
    setOption("bihash_train_options_set_method", options) { o in
        o.resetDefaults(method: try HashMethod(name: try string(method, "method")), recipe: o.configuration.recipe)
    }
}

/// The C entry point `bihash_train_options_set_beta`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_beta")
public func bihashV1_train_options_set_beta(_ options: OpaquePointer?, _ a: Double, _ b: Double) -> Int32 {
    setOption("bihash_train_options_set_beta", options) { o in
        guard a > 0, b > 0, a.isFinite, b.isFinite else {
            throw ABIError.invalidArgument("Beta parameters must be finite and > 0, got a = \(a), b = \(b)")
        }
        o.configuration.betaA = a
        o.configuration.betaB = b
    }
}

/// The C entry point `bihash_train_options_set_contrastive`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_contrastive")
public func bihashV1_train_options_set_contrastive(_ options: OpaquePointer?, _ enabled: Int32) -> Int32 {
    setOption("bihash_train_options_set_contrastive", options) { o in
        guard enabled == 0 || enabled == 1 else {
            throw ABIError.invalidArgument("contrastive must be 0 or 1, got \(enabled)")
        }
        o.configuration.sdcContrastive = enabled == 1
    }
}

/// The C entry point `bihash_train_options_set_recipe`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_recipe")
public func bihashV1_train_options_set_recipe(_ options: OpaquePointer?, _ recipe: UnsafePointer<CChar>?) -> Int32 {
    setOption("bihash_train_options_set_recipe", options) { o in
        let name = try string(recipe, "recipe")
        guard let r = TrainingConfiguration.Recipe(rawValue: name) else {
            throw ABIError.invalidArgument("unknown recipe '\(name)'; expected one of: \(TrainingConfiguration.Recipe.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        o.resetDefaults(method: o.configuration.method, recipe: r)
    }
}

/// The C entry point `bihash_train_options_set_bits`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_bits")
public func bihashV1_train_options_set_bits(_ options: OpaquePointer?, _ bits: Int32) -> Int32 {
    setOption("bihash_train_options_set_bits", options) { o in o.configuration.bits = try validBits(bits) }
}

/// The C entry point `bihash_train_options_set_epochs`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_epochs")
public func bihashV1_train_options_set_epochs(_ options: OpaquePointer?, _ epochs: Int32) -> Int32 {
    setOption("bihash_train_options_set_epochs", options) { o in
        guard epochs >= 1 else { throw ABIError.invalidArgument("epochs must be ≥ 1, got \(epochs)") }
        o.configuration.scaleMilestones(toEpochs: Int(epochs))
    }
}

/// The C entry point `bihash_train_options_set_batch_size`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_batch_size")
public func bihashV1_train_options_set_batch_size(_ options: OpaquePointer?, _ batchSize: Int32) -> Int32 {
    setOption("bihash_train_options_set_batch_size", options) { o in
        guard batchSize >= 2 else { throw ABIError.invalidArgument("batch size must be ≥ 2, got \(batchSize)") }
        o.configuration.batchSize = Int(batchSize)
    }
}

/// The C entry point `bihash_train_options_set_optimizer`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_optimizer")
public func bihashV1_train_options_set_optimizer(_ options: OpaquePointer?, _ optimizer: UnsafePointer<CChar>?) -> Int32 {
    setOption("bihash_train_options_set_optimizer", options) { o in
        let name = try string(optimizer, "optimizer")
        guard let k = TrainingConfiguration.OptimizerKind(rawValue: name) else {
            throw ABIError.invalidArgument("unknown optimizer '\(name)'; expected one of: adam, sgd, rmsprop")
        }
        o.configuration.optimizer = k
    }
}

/// The C entry point `bihash_train_options_set_learning_rate`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_learning_rate")
public func bihashV1_train_options_set_learning_rate(_ options: OpaquePointer?, _ learningRate: Double) -> Int32 {
    setOption("bihash_train_options_set_learning_rate", options) { o in
        guard learningRate > 0, learningRate.isFinite else {
            throw ABIError.invalidArgument("learning rate must be a positive number, got \(learningRate)")
        }
        o.configuration.learningRate = learningRate
    }
}

/// The C entry point `bihash_train_options_set_weight_decay`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_weight_decay")
public func bihashV1_train_options_set_weight_decay(_ options: OpaquePointer?, _ weightDecay: Double) -> Int32 {
    setOption("bihash_train_options_set_weight_decay", options) { o in
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw ABIError.invalidArgument("weight decay must be ≥ 0, got \(weightDecay)")
        }
        o.configuration.weightDecay = weightDecay
    }
}

/// The C entry point `bihash_train_options_set_seed`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_seed")
public func bihashV1_train_options_set_seed(_ options: OpaquePointer?, _ seed: UInt64) -> Int32 {
    setOption("bihash_train_options_set_seed", options) { o in o.configuration.seed = seed }
}

/// The C entry point `bihash_train_options_set_gamma`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_gamma")
public func bihashV1_train_options_set_gamma(_ options: OpaquePointer?, _ gamma: Double) -> Int32 {
    setOption("bihash_train_options_set_gamma", options) { o in
        guard !gamma.isNaN, gamma.isFinite || gamma < 0 else {
            throw ABIError.invalidArgument("γ must be a finite number ≥ 0 (or negative for the default), got \(gamma)")
        }
        o.configuration.gamma = gamma < 0 ? nil : gamma
    }
}

/// The C entry point `bihash_train_options_set_progress`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_progress")
public func bihashV1_train_options_set_progress(_ options: OpaquePointer?, _ callback: bihash_progress_fn?,
                                                _ userData: UnsafeMutableRawPointer?) -> Int32 {
    setOption("bihash_train_options_set_progress", options) { o in
        o.callback = callback
        o.userData = userData
    }
}

/// The C entry point `bihash_train_options_set_image_input`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_image_input")
public func bihashV1_train_options_set_image_input(_ options: OpaquePointer?, _ width: Int32, _ height: Int32,
                                                   _ channels: Int32) -> Int32 {
    setOption("bihash_train_options_set_image_input", options) { o in
        if width == 0 && height == 0 && channels == 0 { o.imageInput = nil; return }
        guard width >= 1, height >= 1, width <= 65536, height <= 65536 else {
            throw ABIError.invalidArgument("image width and height must be in 1...65536, got \(width)×\(height)")
        }
        o.imageInput = try ImageInput(width: Int(width), height: Int(height), channels: Int(channels))
    }
}

/// The C entry point `bihash_train_options_set_backbone`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_backbone")
public func bihashV1_train_options_set_backbone(_ options: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                                _ weights: UnsafePointer<CChar>?, _ imageSize: Int32) -> Int32 {
    setOption("bihash_train_options_set_backbone", options) { o in
        guard let name else { o.backbone = nil; return }
        let backboneName = String(cString: name)
        guard ImageBackbone.knownNames.contains(backboneName) else {
            throw ABIError.invalidArgument("unknown backbone '\(backboneName)'; bihash has: \(ImageBackbone.knownNames.joined(separator: ", "))")
        }
        let size = imageSize == 0 ? ImageBackbone.defaultImageSize : Int(imageSize)
        guard (32...1024).contains(size) else {
            throw ABIError.invalidArgument("backbone image size must be 32...1024 (or 0 for \(ImageBackbone.defaultImageSize)), got \(imageSize)")
        }
        let path = try weights.map { String(cString: $0) } ?? BackboneFile.defaultEfficientNetLite0Path()
        let weights = try BackboneFile.loadEfficientNetLite0Weights(path: path)
        do {
            o.backbone = try ImageBackbone(name: backboneName, weights: weights, imageSize: size)
        } catch BihashError.invalidArgument(let message) {
            // Missing, unexpected or misshapen tensors: the file is not what it should be.
            throw BihashError.invalidFormat("\(path): \(message)")
        }
    }
}

/// The C entry point `bihash_train_options_set_feature_cache`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train_options_set_feature_cache")
public func bihashV1_train_options_set_feature_cache(_ options: OpaquePointer?, _ directory: UnsafePointer<CChar>?) -> Int32 {
    setOption("bihash_train_options_set_feature_cache", options) { o in
        guard let directory else { o.featureCache = nil; return }
        let dir = String(cString: directory)
        guard !dir.isEmpty else { throw ABIError.invalidArgument("the feature cache directory is empty (pass NULL for no cache)") }
        o.featureCache = FeatureCache(directory: dir)
    }
}

/// Backbone features [n, 1280] of image rows `x`: rows in the options' image shape are converted to the backbone's
/// S × S × 3 first (area resize, grey replicated); the cache is used when set.
private func backboneFeatures(_ o: TrainOptionsHandle, _ backbone: ImageBackbone, _ x: Tensor<Float>) throws -> Tensor<Float> {
    let source = o.imageInput ?? backbone.imageInput
    guard source.dimension == x.cols else {
        throw ABIError.invalidArgument("the \(backbone.name) backbone takes image rows: set the image shape of the rows with bihash_train_options_set_image_input (rows of \(x.cols) values are not \(backbone.imageSize)×\(backbone.imageSize)×3 = \(backbone.inputDimension) values)")
    }
    let cachePath = o.featureCache?.path(rows: x, image: source, backbone: backbone)
    if let cache = o.featureCache, let cachePath, let cached = cache.load(cachePath, rows: x.rows, dimension: backbone.featureDimension) {
        return cached
    }
    var out = [Float]()
    out.reserveCapacity(x.rows * backbone.featureDimension)
    let chunk = 1024
    var start = 0
    while start < x.rows {
        let end = min(x.rows, start + chunk)
        var rows = x.rows(start..<end)
        if source != backbone.imageInput {
            rows = try ImageDecoder.convertRows(rows, from: (source.width, source.height, source.channels),
                                                to: (backbone.imageSize, backbone.imageSize, 3))
        }
        out += try backbone.features(rows: rows).scalars
        start = end
    }
    let features = Tensor(uncheckedShape: [x.rows, backbone.featureDimension], scalars: out)
    if let cache = o.featureCache, let cachePath { try cache.store(features, at: cachePath) }
    return features
}

/// The C entry point `bihash_train`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_train")
public func bihashV1_train(_ options: OpaquePointer?, _ features: UnsafePointer<Float>?, _ n: Int, _ dim: Int,
                           _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_train") {
        let o: TrainOptionsHandle = try object(options, "options")
        let out = try nonNull(out, "out")
        guard n >= 1 else { throw ABIError.invalidArgument("n must be ≥ 1 (the training set is empty)") }
        guard dim >= 1 else { throw ABIError.invalidArgument("dim must be ≥ 1") }
        let count = try product(n, dim, "n × dim")
        _ = try product(count, MemoryLayout<Float>.size, "features bytes")
        let x = Tensor(uncheckedShape: [n, dim], scalars: Array(UnsafeBufferPointer(start: try nonNull(features, "features"), count: count)))
        // Supervised methods (SHC) train on the labels; unsupervised ones only check them (count n, each ≥ 0).
        let labelArray: [Int]? = labels.map { p in (0..<n).map { Int(p[$0]) } }
        if let labelArray, let i = labelArray.firstIndex(where: { $0 < 0 }) {
            throw ABIError.invalidArgument("labels[\(i)] is \(labelArray[i]); labels must be ≥ 0")
        }
        if let image = o.imageInput, image.dimension != dim {
            throw ABIError.invalidArgument("the image input \(image.width)×\(image.height)×\(image.channels) has \(image.dimension) values per row but dim is \(dim)")
        }
        let callback = o.callback, userData = o.userData
        let progress: TrainingProgress? = callback.map { fn in
            { report in
                var p = bihash_progress(struct_size: MemoryLayout<bihash_progress>.size, epoch: Int32(report.epoch),
                                        epochs: Int32(report.epochs), loss: report.loss,
                                        learning_rate: report.learningRate, seconds: report.seconds,
                                        samples_per_second: report.samplesPerSecond)
                return fn(&p, userData) == 0
            }
        }
        var configuration = o.configuration
        if let backbone = o.backbone {
            // Train the head on the backbone's features, then put the backbone in front of it.
            guard !configuration.sdcContrastive else {
                throw ABIError.invalidArgument("SDC's contrastive variant augments images and cannot use a frozen backbone's cached features; train without --contrastive")
            }
            let features = try backboneFeatures(o, backbone, x)
            let head = try Trainer.train(features: features, labels: labelArray, configuration: configuration, progress: progress)
            out.pointee = retainedHandle(try ModelHandle(try HashModel(head: head.model, backbone: backbone)))
            return
        }
        configuration.imageShape = o.imageInput  // for the augmentations of SDC's contrastive variant
        let result = try Trainer.train(features: x, labels: labelArray, configuration: configuration, progress: progress)
        result.model.imageInput = o.imageInput
        out.pointee = retainedHandle(try ModelHandle(result.model))
    }
}
