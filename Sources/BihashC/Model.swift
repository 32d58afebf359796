// bihash_model: load, describe, fingerprint, encode (features and image files), save, export.

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

/// A loaded or trained model with the descriptions the ABI hands out. Immutable once made: encodes (and every
/// other call but `bihash_model_free`) on one model run concurrently and in parallel, without a lock, because
/// `HashModel.encode` only reads the model (see its thread safety).
final class ModelHandle: Handle {
    override class var typeName: String { "bihash_model" }
    let model: HashModel
    let fingerprint: [UInt8]
    let inputJSON: String
    let archJSON: String
    let metadataJSON: String

    init(_ model: HashModel) throws {
        self.model = model
        let file = try ModelFile.safetensors(for: model)
        fingerprint = try ModelFile.fingerprint(model)
        inputJSON = file.metadata[ModelFile.Key.input] ?? "{}"
        archJSON = file.metadata[ModelFile.Key.arch] ?? "[]"
        metadataJSON = "{" + model.metadata.sorted { $0.key < $1.key }
            .map { JSONWriter.quote($0.key) + ":" + JSONWriter.quote($0.value) }.joined(separator: ",") + "}"
    }

    /// Packed codes of `x`; may run on several threads at once.
    func encode(_ x: Tensor<Float>) throws -> PackedCodes {
        try model.encode(x)
    }
}

/// Rejects, as `invalidFormat`, data whose first 8 bytes (the safetensors header length) claim more bytes than
/// there are: another kind of file or a truncated one (the safetensors reader reports a huge claimed length as a
/// size limit, which is right for a real oversized header but not for a file that cannot hold it).
func requireSafetensorsHeaderFits(prefix: [UInt8], size: Int, source: String) throws {
    guard prefix.count >= 8 else {
        throw BihashError.invalidFormat("\(source): \(size) bytes is too short for a safetensors model file (not a bihash model, or truncated)")
    }
    var length: UInt64 = 0
    for i in (0..<8).reversed() { length = length << 8 | UInt64(prefix[i]) }
    if length > UInt64(size - 8) {
        throw BihashError.invalidFormat("\(source): the first 8 bytes give a safetensors header of \(length) bytes but only \(size - 8) follow (not a bihash model file, or truncated)")
    }
}

/// The first 8 bytes and the size of the file at `path` (nil when it cannot be read: the loader reports that).
private func filePrefix(_ path: String) -> (prefix: [UInt8], size: Int)? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var st = stat()
    guard fstat(fileno(f), &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    var prefix = [UInt8](repeating: 0, count: 8)
    let n = prefix.withUnsafeMutableBytes { fread($0.baseAddress, 1, 8, f) }
    return (Array(prefix.prefix(n)), Int(st.st_size))
}

/// The C entry point `bihash_model_load`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_load")
public func bihashV1_model_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_model_load") {
        let out = try nonNull(out, "out")
        let p = try string(path, "path")
        if let (prefix, size) = filePrefix(p) { try requireSafetensorsHeaderFits(prefix: prefix, size: size, source: p) }
        let model = try ModelFile.load(path: p)
        out.pointee = retainedHandle(try ModelHandle(model))
    }
}

/// The C entry point `bihash_model_load_from_memory`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_load_from_memory")
public func bihashV1_model_load_from_memory(_ data: UnsafeRawPointer?, _ size: Int,
                                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("bihash_model_load_from_memory") {
        let out = try nonNull(out, "out")
        guard size >= 0, size <= ModelFile.maxFileSize else {
            throw BihashError.limitExceeded("size \(UInt(bitPattern: size)) exceeds the model file limit of \(ModelFile.maxFileSize) bytes")
        }
        let bytes = size == 0 ? [] : Array(UnsafeRawBufferPointer(start: try nonNull(data, "data"), count: size))
        try requireSafetensorsHeaderFits(prefix: Array(bytes.prefix(8)), size: size, source: "model bytes")
        out.pointee = retainedHandle(try ModelHandle(try ModelFile.load(bytes: bytes)))
    }
}

/// The C entry point `bihash_model_free`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_free")
public func bihashV1_model_free(_ model: OpaquePointer?) {
    releaseHandle(model)
}

/// The C entry point `bihash_model_bits`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_bits")
public func bihashV1_model_bits(_ model: OpaquePointer?) -> Int32 {
    optionalObject(model, as: ModelHandle.self).map { Int32($0.model.bits) } ?? 0
}

/// The C entry point `bihash_model_input_dim`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_input_dim")
public func bihashV1_model_input_dim(_ model: OpaquePointer?) -> Int {
    optionalObject(model, as: ModelHandle.self)?.model.inputDimension ?? 0
}

/// The C entry point `bihash_model_image_shape`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_image_shape")
public func bihashV1_model_image_shape(_ model: OpaquePointer?, _ width: UnsafeMutablePointer<Int32>?,
                                       _ height: UnsafeMutablePointer<Int32>?, _ channels: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded("bihash_model_image_shape") {
        let m: ModelHandle = try object(model, "model")
        let image = m.model.imageInput
        width?.pointee = Int32(image?.width ?? 0)
        height?.pointee = Int32(image?.height ?? 0)
        channels?.pointee = Int32(image?.channels ?? 0)
    }
}

/// The C entry point `bihash_model_describe`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_describe")
public func bihashV1_model_describe(_ model: OpaquePointer?, _ what: UnsafePointer<CChar>?,
                                    _ buf: UnsafeMutablePointer<CChar>?, _ bufSize: Int,
                                    _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("bihash_model_describe") {
        let m: ModelHandle = try object(model, "model")
        let key = try string(what, "what")
        let text: String
        switch key {
        case "method": text = m.model.method.rawValue
        case "input": text = m.inputJSON
        case "arch": text = m.archJSON
        case "metadata": text = m.metadataJSON
        case "backbone": text = m.model.backbone.map(ModelFile.backboneJSON) ?? "none"
        default: throw ABIError.invalidArgument("what must be \"method\", \"input\", \"arch\", \"metadata\" or \"backbone\", got \"\(key)\"")
        }
        try copyString(text, to: buf, size: bufSize, needed: needed)
    }
}

/// The C entry point `bihash_model_fingerprint`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_fingerprint")
public func bihashV1_model_fingerprint(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guarded("bihash_model_fingerprint") {
        let m: ModelHandle = try object(model, "model")
        let out = try nonNull(out, "out")
        for (i, b) in m.fingerprint.prefix(Int(BIHASH_FINGERPRINT_BYTES)).enumerated() { out[i] = b }
    }
}

/// Checks an output capacity for n codes of `bits` bits and returns the bytes needed.
func codesCapacity(n: Int, bits: Int, codes: UnsafeMutablePointer<UInt8>?, capacity: Int) throws -> Int {
    let needed = try product(n, (bits + 7) / 8, "n × BIHASH_CODE_BYTES(\(bits))")
    guard capacity >= needed else {
        throw ABIError.bufferTooSmall("codes_capacity is \(UInt(bitPattern: capacity)) bytes; \(n) codes of \(bits) bits need \(needed)")
    }
    if needed > 0 { _ = try nonNull(codes, "codes") }
    return needed
}

/// The C entry point `bihash_model_encode`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_encode")
public func bihashV1_model_encode(_ model: OpaquePointer?, _ features: UnsafePointer<Float>?, _ n: Int, _ dim: Int,
                                  _ codes: UnsafeMutablePointer<UInt8>?, _ codesCapacityBytes: Int) -> Int32 {
    var cleared = 0
    let status = guarded("bihash_model_encode") {
        let m: ModelHandle = try object(model, "model")
        guard dim == m.model.inputDimension else {
            throw ABIError.invalidArgument("dim is \(UInt(bitPattern: dim)) but the model expects \(m.model.inputDimension) features per row")
        }
        let needed = try codesCapacity(n: n, bits: m.model.bits, codes: codes, capacity: codesCapacityBytes)
        cleared = needed
        let count = try product(n, dim, "n × dim")
        if n == 0 { return }
        let x = Tensor(uncheckedShape: [n, dim], scalars: Array(UnsafeBufferPointer(start: try nonNull(features, "features"), count: count)))
        let packed = try m.encode(x)
        guard let out = codes else { return }
        packed.bytes.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { out.update(from: base, count: Swift.min(needed, src.count)) }
        }
        cleared = 0
    }
    if status != Status.ok, cleared > 0, let codes { codes.update(repeating: 0, count: cleared) }
    return status
}

/// The C entry point `bihash_model_encode_pixels`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_encode_pixels")
public func bihashV1_model_encode_pixels(_ model: OpaquePointer?, _ pixels: UnsafePointer<Float>?, _ n: Int,
                                         _ width: Int32, _ height: Int32, _ channels: Int32,
                                         _ codes: UnsafeMutablePointer<UInt8>?, _ codesCapacityBytes: Int) -> Int32 {
    var cleared = 0
    let status = guarded("bihash_model_encode_pixels") {
        let m: ModelHandle = try object(model, "model")
        guard let target = m.model.imageInput else {
            throw ABIError.notSupported("this \(m.model.method.rawValue) model has no image input (it was trained on \(m.model.inputDimension)-value feature rows, not images); encode features with bihash_model_encode")
        }
        guard (1...Int32(ImageDecoder.maxSide)).contains(width), (1...Int32(ImageDecoder.maxSide)).contains(height),
              channels == 1 || channels == 3 else {
            throw ABIError.invalidArgument("image rows must be 1...\(ImageDecoder.maxSide) pixels on each side with 1 or 3 channels, got \(width)×\(height)×\(channels)")
        }
        let needed = try codesCapacity(n: n, bits: m.model.bits, codes: codes, capacity: codesCapacityBytes)
        cleared = needed
        if n == 0 { return }
        let from = (width: Int(width), height: Int(height), channels: Int(channels))
        let dim = from.width * from.height * from.channels
        _ = try product(n, dim, "n × width × height × channels")
        let source = try nonNull(pixels, "pixels")
        guard let out = codes else { return }
        let bytesPerCode = (m.model.bits + 7) / 8
        // Convert and encode in chunks, so that enlarged rows (e.g. 28×28×1 → 96×96×3) never all exist at once.
        let chunk = 256
        var start = 0
        while start < n {
            let end = Swift.min(n, start + chunk)
            var x = Tensor(uncheckedShape: [end - start, dim], scalars: Array(UnsafeBufferPointer(start: source + start * dim, count: (end - start) * dim)))
            if from != (target.width, target.height, target.channels) {
                x = try ImageDecoder.convertRows(x, from: from, to: (target.width, target.height, target.channels))
            }
            let packed = try m.encode(x)
            packed.bytes.withUnsafeBufferPointer { src in
                (out + start * bytesPerCode).update(from: src.baseAddress!, count: (end - start) * bytesPerCode)
            }
            start = end
        }
        cleared = 0
    }
    if status != Status.ok, cleared > 0, let codes { codes.update(repeating: 0, count: cleared) }
    return status
}

/// The C entry point `bihash_model_encode_images`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_encode_images")
public func bihashV1_model_encode_images(_ model: OpaquePointer?, _ paths: UnsafePointer<UnsafePointer<CChar>?>?,
                                         _ n: Int, _ codes: UnsafeMutablePointer<UInt8>?, _ codesCapacityBytes: Int,
                                         _ ok: UnsafeMutablePointer<Int32>?) -> Int32 {
    var cleared = 0
    var lastFailure: String?
    let status = guarded("bihash_model_encode_images") {
        let m: ModelHandle = try object(model, "model")
        let needed = try codesCapacity(n: n, bits: m.model.bits, codes: codes, capacity: codesCapacityBytes)
        guard let image = m.model.imageInput else {
            throw ABIError.notSupported("this \(m.model.method.rawValue) model has no image input (it was trained on \(m.model.inputDimension)-value feature rows, not images); encode features with bihash_model_encode")
        }
        if n == 0 { return }
        let paths = try nonNull(paths, "paths")
        let out = try nonNull(codes, "codes")
        cleared = needed
        let bpc = (m.model.bits + 7) / 8
        var rows: [Float] = []
        var encodedRows: [Int] = []
        for i in 0..<n {
            do {
                let path = try string(paths[i], "paths[\(i)]")
                rows += try ImageDecoder.inputRow(path: path, width: image.width, height: image.height, channels: image.channels)
                encodedRows.append(i)
                ok?[i] = 1
            } catch {
                guard ok != nil else { throw error }
                ok?[i] = 0
                let message = (error as? BihashError)?.message ?? (error as? ABIError)?.message ?? "\(error)"
                lastFailure = "image \(i): \(message)"
            }
        }
        out.update(repeating: 0, count: needed)
        if !encodedRows.isEmpty {
            let packed = try m.encode(Tensor(uncheckedShape: [encodedRows.count, image.dimension], scalars: rows))
            for (j, i) in encodedRows.enumerated() {
                for b in 0..<bpc { out[i * bpc + b] = packed.bytes[j * bpc + b] }
            }
        }
        cleared = 0
    }
    if status != Status.ok, cleared > 0, let codes { codes.update(repeating: 0, count: cleared) }
    if status == Status.ok, let lastFailure { setLastError("bihash_model_encode_images: \(lastFailure)") }
    return status
}

/// The C entry point `bihash_model_save`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_save")
public func bihashV1_model_save(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded("bihash_model_save") {
        let m: ModelHandle = try object(model, "model")
        try ModelFile.save(m.model, to: try string(path, "path"))
    }
}

/// The C entry point `bihash_model_export_onnx`, specified in include/bihash.h (thunk: validate, run, map errors).
@_cdecl("bihash_model_export_onnx")
public func bihashV1_model_export_onnx(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ flags: Int32) -> Int32 {
    guarded("bihash_model_export_onnx") {
        let m: ModelHandle = try object(model, "model")
        let p = try string(path, "path")
        let presign = Int32(BIHASH_EXPORT_PRESIGN), image = Int32(BIHASH_EXPORT_IMAGE_INPUT)
        guard flags & ~(presign | image) == 0 else {
            throw ABIError.invalidArgument("flags must be 0 or a combination of BIHASH_EXPORT_PRESIGN and BIHASH_EXPORT_IMAGE_INPUT, got \(flags)")
        }
        try ONNXExport.export(m.model, to: p, includePresign: flags & presign != 0, imageInput: flags & image != 0)
    }
}
