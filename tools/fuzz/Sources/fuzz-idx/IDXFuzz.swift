// Fuzz target: the IDX reader (plain and gzip, chosen by the gzip magic) through a tmpfs file: IDXReader.read,
// every accessor of the array, FeatureMatrix.load and FeatureMatrix.loadLabels.
import BihashCore
import BihashData
import FuzzSupport

let scratch = ScratchFile(name: "input-idx3-ubyte")

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    // IDX seeds (plain and gzip) come from tools/fuzz/make_seeds.py; nothing to write here.
    Seeds.writeIfRequested { _ in }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    scratch.write(bytes(data, size))
    if let a = try? IDXReader.read(path: scratch.path) {
        _ = try? a.floatMatrix(scale: 1 / 255)
        _ = try? a.intValues()
        _ = try? a.uint8Values()
        _ = a.doubleValues()
    }
    _ = try? FeatureMatrix.load(path: scratch.path)
    _ = try? FeatureMatrix.loadLabels(path: scratch.path)
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing `fuzzOneInput`.
@_cdecl("fuzz_idx_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { fuzzOneInput($0, $1) }
}
