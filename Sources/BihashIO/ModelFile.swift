import BihashCore
import BihashNN
import BihashMethods

/// Saves and loads a `HashModel` as a plain safetensors file (DESIGN.md "File formats").
///
/// Tensors: every encoder parameter and buffer under its own name, `F32`, e.g. `encoder.0.weight` [256, 784],
/// `encoder.0.bias` [256], `bn.running_mean` [K]. Metadata (`__metadata__`, all strings):
///
/// | key | value |
/// |---|---|
/// | `bihash.format_version` | `"1"` |
/// | `bihash.method` | `bihalf`, `sign`, `signreg`, `greedyhash`, `lsh`, `itq` |
/// | `bihash.bits` | K, e.g. `"64"` |
/// | `bihash.arch` | JSON layer list, e.g. `[{"type":"linear","in":784,"out":256,"name":"encoder.0"},{"type":"relu"},…]` |
/// | `bihash.input` | JSON, e.g. `{"dim":784,"preprocess":"minmax-round"}` (`"none"` or `"minmax-round"`) |
/// | `bihash.bit_order` | `"msb-first"` (bit k is bit 7 − k mod 8 of byte k/8, as `numpy.packbits`) |
/// | `bihash.fingerprint` | hex SHA-256 fingerprint (see `fingerprint(_:)`); optional on load, checked when present |
/// | `bihash.train.<key>` | the model's training metadata (`HashModel.metadata`) |
/// | `bihash.backbone` | only for models with a backbone: JSON, e.g. `{"name":"efficientnet-lite0","image_size":96}` |
///
/// A model with a backbone also stores the backbone's tensors as they were loaded (PyTorch names, BatchNorm not
/// folded) under the prefix `backbone.`, e.g. `backbone._conv_stem.weight` [32, 3, 3, 3]; its `bihash.input` is the
/// S × S × 3 image input and the encoder takes the backbone's 1280 features.
///
/// ```swift
/// try ModelFile.save(model, to: "model.safetensors")
/// let back = try ModelFile.load(path: "model.safetensors")
/// assert(try back.encode(x) == model.encode(x))   // byte-identical codes
/// ```
///
/// ### See Also
/// - ``SafetensorsFile`` for the container and its validation; ``ONNXExport`` for the ONNX graph.
public enum ModelFile {
    /// The model-file layout version written by this bihash (`bihash.format_version`).
    public static let formatVersion = 1
    /// Largest model file `load(path:)` reads (4 GiB).
    public static let maxFileSize = 4 << 30

    /// The metadata keys of a model file.
    public enum Key {
        /// The layout version, `"1"`.
        public static let formatVersion = "bihash.format_version"
        /// The method's name (`HashMethod.rawValue`).
        public static let method = "bihash.method"
        /// K, in decimal.
        public static let bits = "bihash.bits"
        /// The JSON layer list.
        public static let arch = "bihash.arch"
        /// The JSON input description (`{"dim":D,"preprocess":…}`).
        public static let input = "bihash.input"
        /// `"msb-first"`.
        public static let bitOrder = "bihash.bit_order"
        /// The hex SHA-256 fingerprint.
        public static let fingerprint = "bihash.fingerprint"
        /// Prefix of the training metadata keys (`bihash.train.seed`, …).
        public static let trainPrefix = "bihash.train."
        /// The backbone description (models with a backbone only).
        public static let backbone = "bihash.backbone"
    }

    /// Prefix of the backbone's tensor names in a model file.
    public static let backboneTensorPrefix = "backbone."

    /// The only bit order bihash writes (`bihash.bit_order`).
    public static let bitOrder = "msb-first"

    // MARK: Saving

    /// The safetensors container for `model` (tensors and metadata), before serialisation.
    /// - Throws: `BihashError.invalidArgument` if the encoder holds a layer bihash cannot save or its shapes do
    ///   not chain from D to K; `.numerical` for non-finite weights.
    public static func safetensors(for model: HashModel) throws -> SafetensorsFile {
        let arch = try ModelArchitecture(model: model)
        var file = try SafetensorsFile()
        for (name, value) in arch.tensors { try file.insert(SafetensorsTensor(value), named: name) }
        if let backbone = model.backbone {
            for (name, value) in backbone.weights { try file.insert(SafetensorsTensor(value), named: backboneTensorPrefix + name) }
        }
        var meta: [String: String] = [:]
        for (k, v) in model.metadata { meta[Key.trainPrefix + k] = v }
        meta[Key.formatVersion] = String(formatVersion)
        meta[Key.method] = model.method.rawValue
        meta[Key.bits] = String(model.bits)
        meta[Key.arch] = arch.json
        meta[Key.input] = inputJSON(model)
        meta[Key.bitOrder] = bitOrder
        if let backbone = model.backbone { meta[Key.backbone] = backboneJSON(backbone) }
        meta[Key.fingerprint] = hex(fingerprint(model: model, architecture: arch))
        file.metadata = meta
        return file
    }

    /// The bytes of `model`'s weights file.
    /// - Throws: see `safetensors(for:)`.
    public static func serialize(_ model: HashModel) throws -> [UInt8] {
        try safetensors(for: model).serialized()
    }

    /// Writes `model` to `path` atomically (temporary file in the same directory, `fsync`, `rename`).
    /// - Throws: see `safetensors(for:)`; `BihashError.io` when the file cannot be written.
    public static func save(_ model: HashModel, to path: String) throws {
        try FileBytes.writeAtomically(serialize(model), to: path, what: "model file")
    }

    // MARK: Loading

    /// Reads the model file at `path`.
    /// - Throws: `BihashError.io` if it cannot be read; `.limitExceeded` above `maxFileSize`; `.invalidFormat`
    ///   (message prefixed with the path) for a malformed safetensors file or model description.
    public static func load(path: String) throws -> HashModel {
        let bytes = try FileBytes.load(path: path, limit: maxFileSize, what: "model file")
        do {
            return try load(bytes: bytes)
        } catch let e as BihashError {
            throw e.prefixed("\(path): ")
        }
    }

    /// Parses a model file held in memory.
    ///
    /// Checks, beyond the safetensors container: the format version, method, bits, bit order and input
    /// description; every `bihash.arch` entry (known type, exact keys, positive sizes); that the layer widths
    /// chain from the input dimension to K; that the tensors are exactly those the layers need (none missing,
    /// none extra), `F32`, of the right shapes, and finite; and, when `bihash.fingerprint` is present, that it
    /// matches the loaded model.
    /// - Throws: `BihashError.invalidFormat` naming the problem; `.numerical` for non-finite weights.
    public static func load(bytes: [UInt8]) throws -> HashModel {
        let file = try SafetensorsFile(bytes: bytes)
        let meta = file.metadata
        func value(_ key: String) throws -> String {
            guard let v = meta[key] else {
                throw BihashError.invalidFormat("model file has no \(key) metadata (not a bihash model file, or written by another tool)")
            }
            return v
        }
        let versionText = try value(Key.formatVersion)
        guard let version = Int(versionText), version >= 1 else {
            throw BihashError.invalidFormat("model file: \(Key.formatVersion) \"\(versionText)\" is not a version number")
        }
        guard version <= formatVersion else {
            throw BihashError.invalidFormat("model file has format version \(version) but this bihash reads version \(formatVersion); HINT: upgrade bihash")
        }
        let methodName = try value(Key.method)
        guard let method = HashMethod(rawValue: methodName) else {
            throw BihashError.invalidFormat("model file: unknown \(Key.method) \"\(methodName)\" (known: \(HashMethod.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let bitsText = try value(Key.bits)
        guard let bits = Int(bitsText), (1...PackedCodes.maxBits).contains(bits) else {
            throw BihashError.invalidFormat("model file: \(Key.bits) \"\(bitsText)\" is not a number of bits in 1...\(PackedCodes.maxBits)")
        }
        let order = try value(Key.bitOrder)
        guard order == bitOrder else {
            throw BihashError.invalidFormat("model file: \(Key.bitOrder) \"\(order)\" is not supported (bihash uses \"\(bitOrder)\")")
        }
        let (dimension, preprocessing, imageInput) = try parseInput(value(Key.input))
        let specs = try parseArch(value(Key.arch))
        let backbone = try meta[Key.backbone].map { try loadBackbone($0, file: file) }

        // Widths chain D (the backbone's features, when there is one) → … → K.
        var width = backbone?.featureDimension ?? dimension
        for (i, spec) in specs.enumerated() {
            switch spec {
            case .linear(let name, let inF, let outF):
                guard inF == width else {
                    throw BihashError.invalidFormat("model file: \(Key.arch)[\(i)] linear '\(name)' takes \(inF) inputs but receives \(width)")
                }
                width = outF
            case .batchNorm(let name, let f, _, _):
                guard f == width else {
                    throw BihashError.invalidFormat("model file: \(Key.arch)[\(i)] batchnorm1d '\(name)' has \(f) features but receives \(width)")
                }
            default: break
            }
        }
        guard width == bits else {
            throw BihashError.invalidFormat("model file: \(Key.arch) outputs \(width) values per row but \(Key.bits) is \(bits)")
        }

        // Tensors: exactly the ones the layers need, F32, right shapes, finite.
        var needed: [String: (shape: [Int], layer: Int)] = [:]
        for (i, spec) in specs.enumerated() {
            for (name, shape) in spec.tensorShapes {
                guard needed[name] == nil else {
                    throw BihashError.invalidFormat("model file: \(Key.arch)[\(i)] reuses the tensor name '\(name)'")
                }
                needed[name] = (shape, i)
            }
        }
        for (name, entry) in needed.sorted(by: { $0.key < $1.key }) where file.tensors[name] == nil {
            throw BihashError.invalidFormat("model file: missing tensor '\(name)' needed by \(Key.arch)[\(entry.layer)] (\(specs[entry.layer].typeName))")
        }
        let isBackboneTensor = { (name: String) in backbone != nil && name.hasPrefix(backboneTensorPrefix) }
        if let extra = file.tensors.keys.sorted().first(where: { needed[$0] == nil && !isBackboneTensor($0) }) {
            throw BihashError.invalidFormat("model file: unexpected tensor '\(extra)', not used by any layer of \(Key.arch)")
        }
        var values: [String: Tensor<Float>] = [:]
        for (name, (shape, _)) in needed {
            guard let t = file.tensors[name] else { continue }  // absent names were reported above
            guard t.dtype == .f32 else {
                throw BihashError.invalidFormat("model file: tensor '\(name)' has dtype \(t.dtype.rawValue); bihash models are F32")
            }
            guard t.shape == shape else {
                throw BihashError.invalidFormat("model file: tensor '\(name)' has shape \(t.shape), expected \(shape) from \(Key.arch)")
            }
            let v = try t.floatTensor()
            if let j = v.scalars.firstIndex(where: { !$0.isFinite }) {
                throw BihashError.numerical("model file: tensor '\(name)'[\(j)] is \(v.scalars[j]); a model must have finite weights")
            }
            values[name] = v
        }

        // Build the encoder (sizes are now backed by tensors read from the file).
        func tensor(_ name: String) throws -> Tensor<Float> {
            guard let v = values[name] else { throw BihashError.invalidFormat("model file: missing tensor '\(name)'") }
            return v
        }
        var layers: [any Layer<Float>] = []
        for spec in specs {
            switch spec {
            case .linear(let name, let inF, let outF):
                var scratch = SeededGenerator(seed: 0)
                let l = Linear<Float>(inF, outF, name: name, using: &scratch)
                l.weight.value = try tensor("\(name).weight")
                l.bias.value = try tensor("\(name).bias")
                layers.append(l)
            case .batchNorm(let name, let f, let eps, let momentum):
                let bn = BatchNorm1d<Float>(f, eps: eps, momentum: momentum, name: name)
                bn.weight.value = try tensor("\(name).weight")
                bn.bias.value = try tensor("\(name).bias")
                bn.runningMean.value = try tensor("\(name).running_mean")
                bn.runningVar.value = try tensor("\(name).running_var")
                layers.append(bn)
            case .relu: layers.append(ReLU<Float>())
            case .gelu: layers.append(GELU<Float>())
            case .tanh: layers.append(Tanh<Float>())
            case .sigmoid: layers.append(Sigmoid<Float>())
            case .dropout(let p): layers.append(try Dropout<Float>(probability: Float(p), seed: 0))
            }
        }
        var training: [String: String] = [:]
        for (k, v) in meta where k.hasPrefix(Key.trainPrefix) { training[String(k.dropFirst(Key.trainPrefix.count))] = v }
        let model: HashModel
        do {
            model = try HashModel(method: method, bits: bits, inputDimension: dimension, preprocessing: preprocessing,
                                  encoder: Sequential(layers), metadata: training, backbone: backbone)
        } catch let e as BihashError {
            throw BihashError.invalidFormat("model file: \(e.message)")
        }
        if let backbone {
            guard imageInput == backbone.imageInput else {
                throw BihashError.invalidFormat("model file: \(Key.input) must give the image input \(backbone.imageSize)×\(backbone.imageSize)×3 of its \(backbone.name) backbone")
            }
        }
        model.imageInput = imageInput
        if let stored = meta[Key.fingerprint] {
            let computed = try fingerprintHex(model)
            guard stored == computed else {
                throw BihashError.invalidFormat("model file: \(Key.fingerprint) is \(stored) but the weights hash to \(computed); the file was modified or corrupted after it was written")
            }
        }
        return model
    }

    // MARK: Fingerprint

    /// A 32-byte SHA-256 fingerprint of everything that decides the codes: K, the input description, the
    /// architecture, and every tensor's name, shape and bytes. Training metadata and the method name are not
    /// included (two files that encode identically have the same fingerprint). It is the model fingerprint of
    /// codes files (`CodesFile.fingerprint`).
    ///
    /// The hashed byte stream (UTF-8, `\n` = 0x0A) is
    /// ```
    /// "bihash-fingerprint-v1\n" "bits=<K>\n" "input=<bihash.input>\n" "arch=<bihash.arch>\n"
    /// then per tensor, by name in ascending UTF-8 byte order: "<name>\n" "<dims joined by ','>\n" <F32 LE bytes>
    /// ```
    /// where `bihash.input` and `bihash.arch` are the exact metadata strings of the model file, so the
    /// fingerprint can be recomputed from a file with `hashlib` (tools/reference/io_safetensors_numpy.py does).
    /// - Throws: see `safetensors(for:)`.
    public static func fingerprint(_ model: HashModel) throws -> [UInt8] {
        try fingerprint(model: model, architecture: ModelArchitecture(model: model))
    }

    /// `fingerprint(_:)` as 64 lowercase hex digits.
    public static func fingerprintHex(_ model: HashModel) throws -> String { hex(try fingerprint(model)) }

    static func fingerprint(model: HashModel, architecture arch: ModelArchitecture) -> [UInt8] {
        var h = SHA256()
        h.update("bihash-fingerprint-v1\nbits=\(model.bits)\ninput=\(inputJSON(model))\narch=\(arch.json)\n")
        var named = arch.tensors
        if let backbone = model.backbone {
            // Only models with a backbone add this line and its tensors, so other fingerprints are unchanged.
            h.update("backbone=\(backboneJSON(backbone))\n")
            named += backbone.weights.map { (backboneTensorPrefix + $0.key, $0.value) }
        }
        let tensors = named.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        for (name, value) in tensors {
            h.update("\(name)\n\(value.shape.map(String.init).joined(separator: ","))\n")
            #if _endian(little)
            value.scalars.withUnsafeBytes { h.update($0) }   // already the F32 little-endian bytes of the file
            #else
            h.update(SafetensorsTensor(value).data)
            #endif
        }
        return h.finalize()
    }

    /// The `bihash.backbone` value: `{"name":"efficientnet-lite0","image_size":S}`.
    public static func backboneJSON(_ backbone: ImageBackbone) -> String {
        JSONWriter.serialize(.object([("name", .string(backbone.name)), ("image_size", JSONWriter.number(backbone.imageSize))]))
    }

    /// The backbone described by a `bihash.backbone` value, from the file's `backbone.*` tensors.
    static func loadBackbone(_ text: String, file: SafetensorsFile) throws -> ImageBackbone {
        let v = try JSONParser.parse(Array(text.utf8), what: "model file \(Key.backbone)")
        guard case .object(let members) = v else {
            throw BihashError.invalidFormat("model file: \(Key.backbone) must be a JSON object, found \(v.kindName)")
        }
        for (k, _) in members where k != "name" && k != "image_size" {
            throw BihashError.invalidFormat("model file: \(Key.backbone) has an unknown key \"\(k)\" (expected \"name\", \"image_size\")")
        }
        guard case .string(let name)? = v["name"], let size = v["image_size"]?.nonNegativeInt else {
            throw BihashError.invalidFormat("model file: \(Key.backbone) needs a \"name\" string and an integer \"image_size\"")
        }
        var weights: [String: Tensor<Float>] = [:]
        for (key, t) in file.tensors where key.hasPrefix(backboneTensorPrefix) {
            guard t.dtype == .f32 else {
                throw BihashError.invalidFormat("model file: backbone tensor '\(key)' has dtype \(t.dtype.rawValue); bihash models are F32")
            }
            weights[String(key.dropFirst(backboneTensorPrefix.count))] = try t.floatTensor()
        }
        do {
            return try ImageBackbone(name: name, weights: weights, imageSize: size)
        } catch let e as BihashError {
            throw BihashError.invalidFormat("model file: backbone: \(e.message)")
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(bytes.count * 2)
        for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
        return s
    }

    // MARK: Metadata JSON

    /// The `bihash.input` value: `{"dim":D,"preprocess":"none"|"minmax-round"}`, plus
    /// `"image":{"width":W,"height":H,"channels":C}` when the model accepts image files (`HashModel.imageInput`).
    /// Models without an image input keep the two-key form, so their fingerprints are unchanged.
    static func inputJSON(_ model: HashModel) -> String {
        var members: [(String, JSONValue)] = [("dim", JSONWriter.number(model.inputDimension)),
                                              ("preprocess", .string(model.preprocessing.rawValue))]
        if let image = model.imageInput {
            members.append(("image", .object([("width", JSONWriter.number(image.width)),
                                              ("height", JSONWriter.number(image.height)),
                                              ("channels", JSONWriter.number(image.channels))])))
        }
        return JSONWriter.serialize(.object(members))
    }

    static func parseInput(_ text: String) throws -> (Int, InputPreprocessing, ImageInput?) {
        let v = try JSONParser.parse(Array(text.utf8), what: "model file \(Key.input)")
        guard case .object(let members) = v else {
            throw BihashError.invalidFormat("model file: \(Key.input) must be a JSON object, found \(v.kindName)")
        }
        for (k, _) in members where k != "dim" && k != "preprocess" && k != "image" {
            throw BihashError.invalidFormat("model file: \(Key.input) has an unknown key \"\(k)\" (expected \"dim\", \"preprocess\", \"image\")")
        }
        guard let dim = v["dim"]?.nonNegativeInt, dim >= 1 else {
            throw BihashError.invalidFormat("model file: \(Key.input) \"dim\" must be a positive integer")
        }
        guard case .string(let name)? = v["preprocess"], let pre = InputPreprocessing(rawValue: name) else {
            throw BihashError.invalidFormat("model file: \(Key.input) \"preprocess\" must be \"none\" or \"minmax-round\"")
        }
        var image: ImageInput?
        if let imageValue = v["image"] {
            guard case .object(let imageMembers) = imageValue else {
                throw BihashError.invalidFormat("model file: \(Key.input) \"image\" must be a JSON object, found \(imageValue.kindName)")
            }
            for (k, _) in imageMembers where k != "width" && k != "height" && k != "channels" {
                throw BihashError.invalidFormat("model file: \(Key.input) \"image\" has an unknown key \"\(k)\" (expected \"width\", \"height\", \"channels\")")
            }
            guard let w = imageValue["width"]?.nonNegativeInt, let h = imageValue["height"]?.nonNegativeInt,
                  let c = imageValue["channels"]?.nonNegativeInt else {
                throw BihashError.invalidFormat("model file: \(Key.input) \"image\" needs integer \"width\", \"height\" and \"channels\"")
            }
            do {
                image = try ImageInput(width: w, height: h, channels: c)
            } catch let e as BihashError {
                throw BihashError.invalidFormat("model file: \(Key.input) \"image\": \(e.message)")
            }
            guard let image, image.width <= 1 << 16, image.height <= 1 << 16, image.dimension == dim else {
                throw BihashError.invalidFormat("model file: \(Key.input) \"image\" \(w)×\(h)×\(c) does not give \"dim\" \(dim) values (or a side exceeds 65536)")
            }
        }
        return (dim, pre, image)
    }

    static func parseArch(_ text: String) throws -> [LayerSpec] {
        let v = try JSONParser.parse(Array(text.utf8), what: "model file \(Key.arch)")
        guard case .array(let items) = v else {
            throw BihashError.invalidFormat("model file: \(Key.arch) must be a JSON array of layers, found \(v.kindName)")
        }
        return try items.enumerated().map { i, item in try parseLayer(item, at: i) }
    }

    private static func parseLayer(_ item: JSONValue, at i: Int) throws -> LayerSpec {
        let what = "model file: \(Key.arch)[\(i)]"
        guard case .object(let members) = item else { throw BihashError.invalidFormat("\(what) must be an object, found \(item.kindName)") }
        guard case .string(let type)? = item["type"] else { throw BihashError.invalidFormat("\(what) has no \"type\" string") }
        func keys(_ allowed: [String]) throws {
            for (k, _) in members where k != "type" && !allowed.contains(k) {
                throw BihashError.invalidFormat("\(what) (\(type)) has an unknown key \"\(k)\"")
            }
            for k in allowed where item[k] == nil { throw BihashError.invalidFormat("\(what) (\(type)) has no \"\(k)\"") }
        }
        func positive(_ k: String) throws -> Int {
            guard let n = item[k]?.nonNegativeInt, n >= 1 else {
                throw BihashError.invalidFormat("\(what) (\(type)): \"\(k)\" must be a positive integer")
            }
            return n
        }
        func name() throws -> String {
            guard case .string(let s)? = item["name"], !s.isEmpty else {
                throw BihashError.invalidFormat("\(what) (\(type)): \"name\" must be a non-empty string")
            }
            return s
        }
        switch type {
        case "linear":
            try keys(["in", "out", "name"])
            return .linear(name: try name(), inFeatures: try positive("in"), outFeatures: try positive("out"))
        case "batchnorm1d":
            try keys(["features", "eps", "momentum", "name"])
            guard let eps = item["eps"]?.double, eps >= 0 else { throw BihashError.invalidFormat("\(what) (batchnorm1d): \"eps\" must be a number ≥ 0") }
            guard let m = item["momentum"]?.double else { throw BihashError.invalidFormat("\(what) (batchnorm1d): \"momentum\" must be a number") }
            return .batchNorm(name: try name(), features: try positive("features"), eps: eps, momentum: m)
        case "dropout":
            try keys(["p"])
            guard let p = item["p"]?.double, p >= 0, p <= 1 else { throw BihashError.invalidFormat("\(what) (dropout): \"p\" must be a number in [0, 1]") }
            return .dropout(probability: p)
        case "relu": try keys([]); return .relu
        case "gelu": try keys([]); return .gelu
        case "tanh": try keys([]); return .tanh
        case "sigmoid": try keys([]); return .sigmoid
        default:
            throw BihashError.invalidFormat("\(what): unknown layer type \"\(type)\"; this bihash reads: \(LayerSpec.knownTypes.joined(separator: ", ")) (HINT: the file may come from a newer bihash)")
        }
    }
}
