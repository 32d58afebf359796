import BihashCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fashion-MNIST (Xiao et al. 2017; 60,000 train and 10,000 test 28×28 grey images, 10 classes), read from the
/// gzipped IDX files of the Debian package `dataset-fashion-mnist`.
///
/// Protocol `fashion-mnist` (TARGETS.md): queries = the 10,000 test images, database = train = the 60,000 train
/// images in file order (which is label-independent), relevance = same label. Features are pixel/255 as Float
/// (the same float32 division as torchvision's `ToTensor`), shape [N, 784].
public enum FashionMNIST {
    /// Where `apt-get install dataset-fashion-mnist` puts the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// Environment variable that overrides `defaultDirectory`.
    public static let directoryEnvironmentVariable = "BIHASH_FASHION_MNIST_DIR"
    /// The four file names.
    public static let fileNames = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                   "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    /// Image side length.
    public static let side = 28
    /// Number of classes (labels 0…9).
    public static let classCount = 10
    /// The class names, indexed by label.
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// The directory in use: `$BIHASH_FASHION_MNIST_DIR` if set and non-empty, else `defaultDirectory`.
    public static var directory: String {
        if let env = getenv(directoryEnvironmentVariable), case let s = String(cString: env), !s.isEmpty { return s }
        return defaultDirectory
    }

    /// True when all four files exist in `directory`.
    public static var isInstalled: Bool {
        fileNames.allSatisfy { access(directory + "/" + $0, R_OK) == 0 }
    }

    /// One split: images as Float [N, 784] scaled to [0, 1] and labels 0…9.
    public struct Split: Sendable {
        /// Pixel/255, [N, 784].
        public let images: Tensor<Float>
        /// Labels 0…9, one per image.
        public let labels: [Int]
    }

    /// Reads the train (`train: true`, 60,000 images) or test (10,000) split from `directory`.
    /// - Throws: `BihashError.io` naming the missing file and the install command, or the IDX reader's errors;
    ///   `BihashError.invalidFormat` if the files do not have Fashion-MNIST's shapes, types or label range.
    public static func loadSplit(train: Bool, directory: String? = nil) throws -> Split {
        let dir = directory ?? self.directory
        let prefix = train ? "train" : "t10k"
        let expected = train ? 60_000 : 10_000
        let imagePath = "\(dir)/\(prefix)-images-idx3-ubyte.gz", labelPath = "\(dir)/\(prefix)-labels-idx1-ubyte.gz"
        for path in [imagePath, labelPath] where access(path, F_OK) != 0 {
            throw BihashError.io(
                "Fashion-MNIST file '\(path)' not found; install with: apt-get install dataset-fashion-mnist (or set \(directoryEnvironmentVariable) to a directory holding \(fileNames.joined(separator: ", ")))")
        }
        let images = try IDXReader.read(path: imagePath)
        guard images.dataType == .uint8, images.shape == [expected, side, side] else {
            throw BihashError.invalidFormat(
                "'\(imagePath)': expected Fashion-MNIST images, ubyte of shape [\(expected), 28, 28]; found \(images.dataType) \(images.shape)")
        }
        let labelArray = try IDXReader.read(path: labelPath)
        guard labelArray.dataType == .uint8, labelArray.shape == [expected] else {
            throw BihashError.invalidFormat(
                "'\(labelPath)': expected Fashion-MNIST labels, ubyte of shape [\(expected)]; found \(labelArray.dataType) \(labelArray.shape)")
        }
        let labels = labelArray.payload.map { Int($0) }
        if let bad = labels.firstIndex(where: { $0 >= classCount }) {
            throw BihashError.invalidFormat("'\(labelPath)': label \(labels[bad]) at index \(bad) is outside 0...\(classCount - 1)")
        }
        return Split(images: try images.floatMatrix(scale: 1 / 255), labels: labels)
    }

    /// Loads the `fashion-mnist` protocol: queries = test split, database = train = train split (file order).
    /// - Parameter directory: where the four `.gz` files are; `nil` uses `directory` (env override or default).
    /// - Throws: see `loadSplit(train:directory:)`.
    public static func load(directory: String? = nil) throws -> RetrievalDataset {
        let train = try loadSplit(train: true, directory: directory)
        let test = try loadSplit(train: false, directory: directory)
        return try RetrievalDataset(name: "fashion-mnist",
                                    trainFeatures: train.images, trainLabels: train.labels,
                                    queryFeatures: test.images, queryLabels: test.labels,
                                    databaseFeatures: train.images, databaseLabels: train.labels)
    }

    /// Loads the `fashion-mnist-20k` protocol (TARGETS.md, backbone rows): queries = the first
    /// `queriesPerClass` test images of each class (file order), database = train = the first `databasePerClass`
    /// train images of each class, **shuffled** with `SeededGenerator(seed:)` so that the database order does not
    /// follow the labels (ties in Hamming distance are broken by database index; a class-by-class database would
    /// inflate mAP — the protocol trap of TARGETS.md).
    /// - Throws: see `loadSplit(train:directory:)`; `BihashError.invalidArgument` for counts < 1 or above what a class
    ///   holds (1,000 test and 6,000 train images per class).
    public static func loadBalancedSubset(queriesPerClass: Int = 100, databasePerClass: Int = 2000, seed: UInt64 = 0,
                                          directory: String? = nil) throws -> RetrievalDataset {
        try require((1...1000).contains(queriesPerClass) && (1...6000).contains(databasePerClass),
                    "fashion-mnist subset: queries per class must be 1...1000 and database items per class 1...6000, got \(queriesPerClass) and \(databasePerClass)")
        let train = try loadSplit(train: true, directory: directory)
        let test = try loadSplit(train: false, directory: directory)
        let queryRows = firstRows(perClass: queriesPerClass, labels: test.labels)
        var rng = SeededGenerator(seed: seed)
        let chosen = firstRows(perClass: databasePerClass, labels: train.labels)
        let databaseRows = rng.permutation(chosen.count).map { chosen[$0] }
        let queries = test.images.gatherRows(queryRows), database = train.images.gatherRows(databaseRows)
        let databaseLabels = databaseRows.map { train.labels[$0] }
        return try RetrievalDataset(name: "fashion-mnist-20k",
                                    trainFeatures: database, trainLabels: databaseLabels,
                                    queryFeatures: queries, queryLabels: queryRows.map { test.labels[$0] },
                                    databaseFeatures: database, databaseLabels: databaseLabels)
    }

    /// Indices of the first `count` rows of each label, in file order (label-major within the result).
    static func firstRows(perClass count: Int, labels: [Int]) -> [Int] {
        var perClass = [[Int]](repeating: [], count: classCount)
        for (i, y) in labels.enumerated() where perClass[y].count < count { perClass[y].append(i) }
        return perClass.flatMap { $0 }
    }
}
