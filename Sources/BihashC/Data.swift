// bihash_data: feature matrices with optional labels and image shape.

import CBihashABI
import BihashCore
import BihashData

/// A float matrix [rows, cols] at a fixed address, optional Int32 labels, and the image shape of its rows (set for
/// image protocols such as fashion-mnist: 28×28×1).
final class DataHandle: Handle {
    override class var typeName: String { "bihash_data" }
    let rows: Int
    let cols: Int
    let features: StableBuffer<Float>
    var labels: StableBuffer<Int32>?
    /// (width, height, channels) of each row when the rows are images.
    let imageShape: (width: Int, height: Int, channels: Int)?

    init(_ matrix: Tensor<Float>, labels: [Int32]?, imageShape: (width: Int, height: Int, channels: Int)? = nil) {
        rows = matrix.rows
        cols = matrix.cols
        features = StableBuffer(matrix.scalars)
        self.labels = labels.map { StableBuffer($0) }
        self.imageShape = imageShape
    }

    /// The features as a tensor (copied).
    var tensor: Tensor<Float> {
        Tensor(uncheckedShape: [rows, cols], scalars: Array(UnsafeBufferPointer(start: features.pointer, count: rows * cols)))
    }
}

/// Int labels as Int32, rejecting values outside Int32.
func int32Labels(_ labels: [Int], _ what: String) throws -> [Int32] {
    try labels.enumerated().map { i, v in
        guard let x = Int32(exactly: v) else { throw BihashError.invalidFormat("\(what): label \(v) at index \(i) does not fit in int32") }
        return x
    }
}

/// The C entry point `bihash_data_load`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_data_load")
public func bihashV1_data_load(_ source: UnsafePointer<CChar>?, _ part: UnsafePointer<CChar>?,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_data_load") {
        let out = try nonNull(out, "out")
        let name = try string(source, "source")
        let partName = part.map { String(cString: $0) } ?? ""
        let handle: DataHandle
        if Protocols.names.contains(name) {
            guard ["train", "query", "database"].contains(partName) else {
                throw ABIError.invalidArgument("protocol '\(name)' needs part \"train\", \"query\" or \"database\", got \"\(partName)\"")
            }
            if name == "fashion-mnist" {
                // Query = test split; train = database = train split (FashionMNIST.load), read split by split.
                let split = try FashionMNIST.loadSplit(train: partName != "query")
                handle = DataHandle(split.images, labels: try int32Labels(split.labels, name),
                                    imageShape: (FashionMNIST.side, FashionMNIST.side, 1))
            } else {
                let d = try Protocols.load(name: name)
                let (x, y): (Tensor<Float>, [Int]) = partName == "train" ? (d.trainFeatures, d.trainLabels)
                    : partName == "query" ? (d.queryFeatures, d.queryLabels) : (d.databaseFeatures, d.databaseLabels)
                let imageShape = name.hasPrefix("fashion-mnist") ? (FashionMNIST.side, FashionMNIST.side, 1) : nil
                handle = DataHandle(x, labels: try int32Labels(y, name), imageShape: imageShape)
            }
        } else {
            guard partName.isEmpty else {
                throw ABIError.invalidArgument("part must be NULL or \"\" for a file, got \"\(partName)\" (protocols: \(Protocols.names.joined(separator: ", ")))")
            }
            handle = DataHandle(try FeatureMatrix.load(path: name), labels: nil)
        }
        out.pointee = retainedHandle(handle)
    }
}

/// The C entry point `bihash_data_load_images`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_data_load_images")
public func bihashV1_data_load_images(_ directory: UnsafePointer<CChar>?, _ width: Int32, _ height: Int32, _ channels: Int32,
                                      _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_data_load_images") {
        let out = try nonNull(out, "out")
        let dir = try string(directory, "directory")
        guard (1...Int32(ImageDecoder.maxSide)).contains(width), (1...Int32(ImageDecoder.maxSide)).contains(height),
              channels == 1 || channels == 3 else {
            throw ABIError.invalidArgument("image rows must be 1...\(ImageDecoder.maxSide) pixels on each side with 1 or 3 channels, got \(width)×\(height)×\(channels)")
        }
        let set = try ImageFolder.loadDataset(directory: dir, width: Int(width), height: Int(height), channels: Int(channels))
        let labels = try set.labels.map { try int32Labels($0, dir) }
        out.pointee = retainedHandle(DataHandle(set.rows, labels: labels, imageShape: (Int(width), Int(height), Int(channels))))
    }
}

/// The C entry point `bihash_data_convert_images`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_data_convert_images")
public func bihashV1_data_convert_images(_ data: OpaquePointer?, _ width: Int32, _ height: Int32, _ channels: Int32,
                                         _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_data_convert_images") {
        let d: DataHandle = try object(data, "data")
        let out = try nonNull(out, "out")
        guard let from = d.imageShape else {
            throw ABIError.invalidArgument("the data are not images (no image shape); only image rows can be converted")
        }
        guard (1...Int32(ImageDecoder.maxSide)).contains(width), (1...Int32(ImageDecoder.maxSide)).contains(height),
              channels == 1 || channels == 3 else {
            throw ABIError.invalidArgument("image rows must be 1...\(ImageDecoder.maxSide) pixels on each side with 1 or 3 channels, got \(width)×\(height)×\(channels)")
        }
        let to = (width: Int(width), height: Int(height), channels: Int(channels))
        let rows = try ImageDecoder.convertRows(d.tensor, from: from, to: to)
        let labels = d.labels.map { Array(UnsafeBufferPointer(start: $0.pointer, count: d.rows)) }
        out.pointee = retainedHandle(DataHandle(rows, labels: labels, imageShape: to))
    }
}

/// The C entry point `bihash_data_new`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_data_new")
public func bihashV1_data_new(_ features: UnsafePointer<Float>?, _ rows: Int, _ cols: Int,
                              _ labels: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_data_new") {
        let out = try nonNull(out, "out")
        let count = try product(rows, cols, "rows × cols")
        _ = try product(count, MemoryLayout<Float>.size, "features bytes")
        let values = count == 0 ? [] : Array(UnsafeBufferPointer(start: try nonNull(features, "features"), count: count))
        if labels != nil { _ = try product(rows, MemoryLayout<Int32>.size, "labels bytes") }
        let labelValues = labels.map { Array(UnsafeBufferPointer(start: $0, count: rows)) }
        out.pointee = retainedHandle(DataHandle(Tensor(uncheckedShape: [rows, cols], scalars: values), labels: labelValues))
    }
}

/// The C entry point `bihash_data_load_labels`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_data_load_labels")
public func bihashV1_data_load_labels(_ data: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded("bihash_data_load_labels") {
        let d: DataHandle = try object(data, "data")
        let p = try string(path, "path")
        let labels = try FeatureMatrix.loadLabels(path: p)
        guard labels.count == d.rows else {
            throw ABIError.invalidArgument("'\(p)' holds \(labels.count) labels but the data has \(d.rows) rows")
        }
        d.labels = StableBuffer(try int32Labels(labels, "'\(p)'"))
    }
}

/// The C entry point `bihash_data_rows`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_data_rows")
public func bihashV1_data_rows(_ data: OpaquePointer?) -> Int {
    optionalObject(data, as: DataHandle.self)?.rows ?? 0
}

/// The C entry point `bihash_data_cols`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_data_cols")
public func bihashV1_data_cols(_ data: OpaquePointer?) -> Int {
    optionalObject(data, as: DataHandle.self)?.cols ?? 0
}

/// The C entry point `bihash_data_features`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_data_features")
public func bihashV1_data_features(_ data: OpaquePointer?) -> UnsafePointer<Float>? {
    optionalObject(data, as: DataHandle.self).map { UnsafePointer($0.features.pointer) }
}

/// The C entry point `bihash_data_labels`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_data_labels")
public func bihashV1_data_labels(_ data: OpaquePointer?) -> UnsafePointer<Int32>? {
    optionalObject(data, as: DataHandle.self)?.labels.map { UnsafePointer($0.pointer) }
}

/// The C entry point `bihash_data_image_shape`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_data_image_shape")
public func bihashV1_data_image_shape(_ data: OpaquePointer?, _ width: UnsafeMutablePointer<Int32>?,
                                      _ height: UnsafeMutablePointer<Int32>?, _ channels: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded("bihash_data_image_shape") {
        let d: DataHandle = try object(data, "data")
        let (w, h, c) = d.imageShape ?? (0, 0, 0)
        width?.pointee = Int32(w)
        height?.pointee = Int32(h)
        channels?.pointee = Int32(c)
    }
}

/// The C entry point `bihash_data_free`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_data_free")
public func bihashV1_data_free(_ data: OpaquePointer?) {
    releaseHandle(data)
}
