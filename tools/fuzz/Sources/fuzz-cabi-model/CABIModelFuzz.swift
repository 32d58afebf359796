// Fuzz target: the C ABI's model load from a file, bihash_model_load (tmpfs file), then every description and
// one encode of a zero row, as a host program would do after loading.
import CBihashFuzzABI
import FuzzABISupport
import FuzzSupport

let scratch = ScratchFile(name: "input.safetensors")

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    Seeds.writeIfRequested { write in
        for (name, bytes) in try modelSeeds() { write(name, bytes) }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    scratch.write(bytes(data, size))
    var model: OpaquePointer?
    guard bihash_model_load(scratch.path, &model) == 0 else {
        if bihash_last_error() == nil { fatalError("bihash_model_load failed without an error message") }
        return 0
    }
    defer { bihash_model_free(model) }
    var buffer = [CChar](repeating: 0, count: 4096)
    for what in ["method", "input", "arch", "metadata"] {
        var needed = 0
        _ = bihash_model_describe(model, what, &buffer, buffer.count, &needed)
    }
    var fingerprint = [UInt8](repeating: 0, count: 32)
    _ = bihash_model_fingerprint(model, &fingerprint)
    let dim = bihash_model_input_dim(model), bits = Int(bihash_model_bits(model))
    if dim <= 1 << 16 {
        let row = [Float](repeating: 0.5, count: dim)
        var codes = [UInt8](repeating: 0, count: (bits + 7) / 8)
        _ = bihash_model_encode(model, row, 1, dim, &codes, codes.count)
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing `fuzzOneInput`.
@_cdecl("fuzz_cabi_model_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { fuzzOneInput($0, $1) }
}
