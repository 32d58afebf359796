// Fuzz target: the safetensors reader and the model description behind it, from memory, through the C ABI:
// bihash_model_load_from_memory → ModelFile.load(bytes:) → SafetensorsFile(bytes:) (BihashIO is not a product
// of the main package, so its readers are reached through libbihash). Seeds: bihash models and plain
// safetensors files of every dtype (tools/fuzz/make_seeds.py).
import CBihashFuzzABI
import FuzzABISupport
import FuzzSupport

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    Seeds.writeIfRequested { write in
        for (name, bytes) in try modelSeeds() { write(name, bytes) }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var model: OpaquePointer?
    // A zero-byte input still passes a valid pointer (the ABI rejects NULL data with size > 0 only).
    let status = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { one in
        bihash_model_load_from_memory(size == 0 ? UnsafeRawPointer(one.baseAddress!) : UnsafeRawPointer(data), size, &model)
    }
    if status == 0 {
        guard model != nil else { fatalError("bihash_model_load_from_memory returned OK without a model") }
        bihash_model_free(model)
    } else if bihash_last_error() == nil {
        fatalError("bihash_model_load_from_memory failed (\(status)) without an error message")
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing `fuzzOneInput`.
@_cdecl("fuzz_safetensors_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { fuzzOneInput($0, $1) }
}
