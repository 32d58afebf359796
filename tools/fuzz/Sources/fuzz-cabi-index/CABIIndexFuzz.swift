// Fuzz target: the C ABI's index load, bihash_index_open (mmap of a tmpfs file), then a k-NN and a radius
// search. The XXH64 checksum at offset 56 is recomputed over the input first.
import CBihashFuzzABI
import FuzzABISupport
import FuzzSupport

let scratch = ScratchFile(name: "input.bhidx")

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    Seeds.writeIfRequested { write in
        for (name, bytes) in try indexSeeds() { write(name, bytes) }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = bytes(data, size)
    patchChecksum(&input, at: 56)
    scratch.write(input)
    var index: OpaquePointer?
    guard bihash_index_open(scratch.path, &index) == 0 else {
        if bihash_last_error() == nil { fatalError("bihash_index_open failed without an error message") }
        return 0
    }
    defer { bihash_index_free(index) }
    let bits = Int(bihash_index_bits(index))
    let query = [UInt8](repeating: 0, count: (bits + 7) / 8)
    _ = bihash_index_set_threads(index, 1)
    var ids = [UInt64](repeating: 0, count: 3), distances = [UInt32](repeating: 0, count: 3)
    _ = bihash_index_search(index, query, 1, 3, &ids, &distances)
    var results: OpaquePointer?
    if bihash_index_search_radius(index, query, 1, 2, &results) == 0 {
        let n = bihash_results_count(results, 0)
        if let found = bihash_results_ids(results, 0), n > 0 { _ = found[n - 1] }
        bihash_results_free(results)
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing `fuzzOneInput`.
@_cdecl("fuzz_cabi_index_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { fuzzOneInput($0, $1) }
}
