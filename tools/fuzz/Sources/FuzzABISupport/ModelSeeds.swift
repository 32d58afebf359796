// Seeds for the C ABI targets: small models trained and saved through libbihash's own functions, and an index.
#if canImport(Glibc)
import Glibc
#endif
import CBihashFuzzABI
import FuzzSupport

/// Fails the seed run with the library's message.
func check(_ status: Int32, _ what: String) throws {
    guard status == 0 else { throw SeedError(message: "\(what): \(String(cString: bihash_last_error()))") }
}

struct SeedError: Error { let message: String }

/// Model files of several methods, widths and inputs (features and a 4×4 gray image input), as (name, bytes).
public func modelSeeds() throws -> [(String, [UInt8])] {
    let dir = Seeds.scratchDirectory()
    var out: [(String, [UInt8])] = []
    let cases: [(method: String, bits: Int32, dim: Int, image: Bool)] = [
        ("lsh", 8, 6, false), ("itq", 6, 8, false), ("bihalf", 16, 6, false), ("sign", 9, 5, false),
        ("greedyhash", 8, 4, false), ("lsh", 8, 16, true),
    ]
    for (i, c) in cases.enumerated() {
        var options: OpaquePointer?
        try check(bihash_train_options_new(&options), "options")
        defer { bihash_train_options_free(options) }
        try check(bihash_train_options_set_method(options, c.method), "method")
        try check(bihash_train_options_set_bits(options, c.bits), "bits")
        try check(bihash_train_options_set_seed(options, UInt64(i + 1)), "seed")
        if c.method != "lsh" && c.method != "itq" {
            try check(bihash_train_options_set_epochs(options, 1), "epochs")
            try check(bihash_train_options_set_batch_size(options, 16), "batch size")
        }
        if c.image { try check(bihash_train_options_set_image_input(options, 4, 4, 1), "image input") }
        let n = 48
        var state: UInt64 = 0x9E37_79B9 &* UInt64(i + 3)
        let features: [Float] = (0..<(n * c.dim)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24)
        }
        var model: OpaquePointer?
        try check(bihash_train(options, features, n, c.dim, nil, &model), "train \(c.method)")
        defer { bihash_model_free(model) }
        let path = dir + "/model-\(i).safetensors"
        try check(bihash_model_save(model, path), "save")
        out.append(("model-\(c.method)-k\(c.bits)-d\(c.dim)\(c.image ? "-image" : "")", Seeds.read(path)))
    }
    return out
}

/// Index files written by bihash_index_save, as (name, bytes).
public func indexSeeds() throws -> [(String, [UInt8])] {
    let dir = Seeds.scratchDirectory()
    var out: [(String, [UInt8])] = []
    for (bits, n) in [(Int32(64), 6), (Int32(12), 3), (Int32(8), 0), (Int32(300), 2)] {
        var index: OpaquePointer?
        try check(bihash_index_new(bits, &index), "index")
        defer { bihash_index_free(index) }
        let bpc = (Int(bits) + 7) / 8
        var codes = (0..<(n * bpc)).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 5) }
        let pad = Int(bits) % 8 == 0 ? UInt8(0) : UInt8(0xFF >> (Int(bits) % 8))
        for r in 0..<n { codes[r * bpc + bpc - 1] &= ~pad }
        let ids = (0..<n).map { UInt64($0 * 10 + 7) }
        try check(bihash_index_add(index, codes, n, ids), "add")
        let path = dir + "/index.bhidx"
        try check(bihash_index_save(index, path), "save")
        out.append(("index-k\(bits)-n\(n)", Seeds.read(path)))
    }
    return out
}
