import BihashCore

/// Everything that decides how a model is trained. Start from `TrainingConfiguration(method:bits:recipe:)`,
/// which fills in the defaults of the method's reference code (ALGORITHMS.md §1.4), then override fields.
public struct TrainingConfiguration: Sendable {
    /// The network and loss around the binarizer.
    public enum Recipe: String, Sendable, CaseIterable {
        /// Spec §1.4a: 784-256-K encoder, K-256-784 sigmoid decoder, BCE reconstruction loss, binarised input.
        case autoencoder
        /// Spec §1.4b: Linear(D→K) head on a feature matrix, cosine-similarity preservation between batch halves.
        case features
    }

    public enum OptimizerKind: String, Sendable, CaseIterable { case sgd, adam, rmsprop }

    /// How the learning rate changes per epoch (stepped once per epoch, ALGORITHMS.md §4 item 12).
    public enum LearningRateScheduleKind: Sendable, Equatable {
        /// PyTorch `MultiStepLR`: ×`learningRateDecay` at each of `learningRateMilestones`.
        case multiStep
        /// PyTorch `CosineAnnealingLR(T_max = epochs, eta_min = etaMin)` (SHC, §3.4).
        case cosine(etaMin: Double)
    }

    public var method: HashMethod
    /// K, bits per code (1…4096).
    public var bits: Int
    public var recipe: Recipe
    public var epochs: Int
    public var batchSize: Int
    public var optimizer: OptimizerKind
    public var learningRate: Double
    public var weightDecay: Double
    /// SGD momentum (ignored by Adam and RMSprop).
    public var momentum: Double
    /// Epochs (0-based, counted from the start) at which the learning rate is multiplied by `learningRateDecay`.
    public var learningRateMilestones: [Int]
    public var learningRateDecay: Double
    /// The per-epoch learning-rate schedule (`multiStep` by default; SHC uses `cosine(etaMin: 1e-7)`).
    public var learningRateSchedule: LearningRateScheduleKind
    /// γ of the binarizer's backward pull γ(U − B)/(N·K); nil means the method's default for the recipe.
    public var gamma: Double?
    /// Weight of Sign+Reg's bit-balance regulariser (spec: α = 1).
    public var regularizerWeight: Double
    /// Weight of GreedyHash's cubic quantisation penalty (spec §2.5: 0.1).
    public var quantizationWeight: Double
    /// Hidden width of the autoencoder (spec: 256).
    public var hiddenUnits: Int
    /// Dropout probability on the input features of the `features` recipe (BH's fc7 dropout; 0 = off).
    public var inputDropout: Double
    /// ITQ rotation iterations.
    public var itqIterations: Int
    /// SDC's Beta(α, β) calibration distribution (spec default α = β = 5).
    public var betaA: Double
    public var betaB: Double
    /// Width of SDC's hidden layer; nil means D (the spec's Linear(D→D) → GELU → Linear(D→K) → BatchNorm1d).
    public var sdcHidden: Int?
    /// Weight of SDC's quantisation term 1 − cos(v, sign v) (spec: 1).
    public var sdcQuantizationWeight: Double
    /// SDC's contrastive variant ("w/ L_cl"): two augmented views per image, NT-Xent (τ = 0.3) on the codes, and
    /// the ortho constraint on the calibration targets. Needs `imageShape`.
    public var sdcContrastive: Bool
    /// SHC stage 1: epochs of the class-similarity classifier (spec `classify_epoch` = 100).
    public var shcClassifierEpochs: Int
    /// SHC stage 1: RMSprop learning rate of the classifier (spec `--lr` = 1e-4, shared with stage 3). With the
    /// default 100 classifier epochs the spec's value converges on raw features (Fashion-MNIST pixels, K = 16:
    /// 1e-4 gave mAP@All 0.7056, 1e-3 gave 0.7022); raise it when training the classifier for only a few epochs.
    public var shcClassifierLearningRate: Double
    /// SHC stage 3: weight λ of the quantisation term mean((|tanh u| − 1)²) (spec `--lambd` = 1e-4).
    public var shcQuantizationWeight: Double
    /// The image layout of each input row (e.g. 28×28×1 for Fashion-MNIST pixels), for augmentations.
    public var imageShape: ImageInput?
    /// Seed of every random choice (initialisation, shuffling, dropout, projections).
    public var seed: UInt64

    public init(method: HashMethod, bits: Int, recipe: Recipe = .features) {
        self.method = method
        self.bits = bits
        self.recipe = recipe
        self.optimizer = .adam
        self.momentum = 0.9
        self.learningRateDecay = 0.1
        self.gamma = nil
        self.regularizerWeight = 1
        self.quantizationWeight = 0.1
        self.hiddenUnits = 256
        self.inputDropout = 0
        self.itqIterations = 50
        self.seed = 0
        self.betaA = 5
        self.betaB = 5
        self.sdcHidden = nil
        self.sdcQuantizationWeight = 1
        self.sdcContrastive = false
        self.imageShape = nil
        self.learningRateSchedule = .multiStep
        self.shcClassifierEpochs = 100
        self.shcClassifierLearningRate = 1e-4
        self.shcQuantizationWeight = 1e-4
        switch recipe {
        case .autoencoder:  // BH AutoEncoder/*.py: Adam 1e-3, wd 1e-5, batch 128, 100 epochs, ×0.1 at 60 and 80
            epochs = 100; batchSize = 128; learningRate = 1e-3; weightDecay = 1e-5; learningRateMilestones = [60, 80]
        case .features:     // TARGETS.md reference: Linear head, Adam 1e-3, batch 32, 20 epochs
            epochs = 20; batchSize = 32; learningRate = 1e-3; weightDecay = 0; learningRateMilestones = []
        }
        // SDC configs: Adam 1e-4, wd 1e-5, batch 64, 100 epochs, StepLR ×0.1 at 80% (§2.3). GreedyHash is the SDC
        // repo's `gh.py` (§2.5) and trains with the same default trainer. Its pure straight-through estimator does
        // not converge at the bi-half head's Adam 1e-3, batch 32: on EfficientNet-Lite0 features of fashion-mnist-20k
        // that loses 9–17 mAP@1000 points (tools/reference/greedyhash_reference.py).
        if method == .sdc || (method == .greedyhash && recipe == .features) {
            epochs = 100; batchSize = 64; learningRate = 1e-4; weightDecay = 1e-5; learningRateMilestones = [80]
        }
        if method == .shc {  // SHC run.py/train.py (§3.0, §3.4): RMSprop 1e-4, wd 1e-5, cosine to 1e-7, batch 64, 100 epochs
            epochs = 100; batchSize = 64; optimizer = .rmsprop; learningRate = 1e-4; weightDecay = 1e-5
            learningRateMilestones = []; learningRateSchedule = .cosine(etaMin: 1e-7)
        }
    }

    /// γ actually used: the explicit value, or the reference code's default for this method and recipe.
    public var effectiveGamma: Double {
        if let gamma { return gamma }
        switch method {
        case .bihalf: return recipe == .autoencoder ? 1 : 6   // §1.2: γ = 1 for the AE, 6 for image features
        case .sign, .signreg: return 0.2                      // §1.4a sign baseline
        case .greedyhash, .lsh, .itq, .sdc, .shc: return 0          // pure straight-through / not trained / no binarizer
        }
    }

    /// Milestones scaled to a shorter or longer run: the reference's 60/80 of 100 epochs become 12/16 of 20.
    public mutating func scaleMilestones(toEpochs newEpochs: Int) {
        let old = max(1, epochs)
        learningRateMilestones = learningRateMilestones.map { Int((Double($0) * Double(newEpochs) / Double(old)).rounded()) }
        epochs = newEpochs
    }

    /// Checks every field, and the data shape the configuration will train on.
    public func validate(sampleCount: Int, featureDimension: Int) throws {
        try PackedCodes.validateBits(bits)
        try require(sampleCount > 0, "the training set is empty")
        try require(featureDimension > 0, "features have no columns")
        try require(epochs >= 1 || !method.isDeep, "epochs must be ≥ 1, got \(epochs)")
        try require(learningRate > 0 && learningRate.isFinite, "learning rate must be a positive number, got \(learningRate)")
        try require(weightDecay >= 0 && weightDecay.isFinite, "weight decay must be ≥ 0, got \(weightDecay)")
        try require(momentum >= 0 && momentum < 1, "momentum must be in [0, 1), got \(momentum)")
        try require(learningRateDecay > 0 && learningRateDecay <= 1, "learning-rate decay must be in (0, 1], got \(learningRateDecay)")
        try require(effectiveGamma >= 0 && effectiveGamma.isFinite, "γ must be ≥ 0, got \(effectiveGamma)")
        try require(inputDropout >= 0 && inputDropout < 1, "dropout must be in [0, 1), got \(inputDropout)")
        try require(hiddenUnits >= 1, "hidden units must be ≥ 1, got \(hiddenUnits)")
        if method.isDeep {
            try require(batchSize >= 2, "batch size must be ≥ 2 (\(method.rawValue) pairs or ranks samples within a batch), got \(batchSize)")
            try require(sampleCount >= 2, "\(method.rawValue) needs at least 2 training samples, got \(sampleCount)")
        }
        if method == .sdc {
            try require(betaA > 0 && betaB > 0 && betaA.isFinite && betaB.isFinite, "SDC's Beta parameters must be > 0, got a = \(betaA), b = \(betaB)")
            try require(sdcHidden.map { $0 >= 1 } ?? true, "SDC hidden width must be ≥ 1")
            try require(sdcQuantizationWeight >= 0, "SDC quantisation weight must be ≥ 0")
            try require(recipe == .features, "SDC trains a feature head; the autoencoder recipe does not apply")
            if sdcContrastive {
                guard let image = imageShape else {
                    throw BihashError.invalidArgument("SDC's contrastive variant augments images: set the image shape (e.g. 28×28×1)")
                }
                try require(image.dimension == featureDimension, "image shape \(image.width)×\(image.height)×\(image.channels) does not match the feature dimension \(featureDimension)")
                try require(batchSize >= 4, "SDC's contrastive variant pairs quarters of each batch: batch size must be ≥ 4, got \(batchSize)")
            }
        }
        if case .cosine(let etaMin) = learningRateSchedule {
            try require(etaMin >= 0 && etaMin.isFinite, "cosine schedule η_min must be ≥ 0, got \(etaMin)")
        }
        if method == .shc {
            try require(recipe == .features, "SHC trains a hash head on features; the autoencoder recipe does not apply")
            try require(shcClassifierEpochs >= 1, "SHC classifier epochs must be ≥ 1, got \(shcClassifierEpochs)")
            try require(shcClassifierLearningRate > 0 && shcClassifierLearningRate.isFinite,
                        "SHC classifier learning rate must be a positive number, got \(shcClassifierLearningRate)")
            try require(shcQuantizationWeight >= 0 && shcQuantizationWeight.isFinite,
                        "SHC quantisation weight λ must be ≥ 0, got \(shcQuantizationWeight)")
        }
        if method == .itq {
            try require(bits <= featureDimension, "ITQ projects onto K principal components, so K (\(bits)) must be ≤ the feature dimension (\(featureDimension))")
            try require(itqIterations >= 0, "ITQ iterations must be ≥ 0, got \(itqIterations)")
        }
    }
}

/// What a training run reports after each epoch (to a progress callback) and keeps in its log.
public struct EpochReport: Sendable {
    public let epoch: Int
    public let epochs: Int
    /// Mean training loss over the epoch's batches.
    public let loss: Double
    public let learningRate: Double
    public let seconds: Double
    public var samplesPerSecond: Double { seconds > 0 ? Double(samples) / seconds : 0 }
    public let samples: Int
}

/// Called after every epoch; return false to cancel training (it then throws `BihashError.cancelled`).
public typealias TrainingProgress = (EpochReport) -> Bool

/// A trained model and how training went.
public struct TrainingResult {
    public let model: HashModel
    public let epochs: [EpochReport]
    /// Median seconds per epoch (0 for closed-form methods).
    public var medianEpochSeconds: Double {
        let s = epochs.map(\.seconds).sorted()
        return s.isEmpty ? 0 : s[s.count / 2]
    }
}
