// Fuzz target: packed codes from .npy, NPYCodes.decode (bits from the shape) and NPYCodes.read (mmap, K = 12).
import BihashCore
import BihashIndex
import FuzzSupport

let scratch = ScratchFile(name: "input.npy")

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    Seeds.writeIfRequested { write in
        for (bits, count) in [(64, 3), (12, 2), (8, 0), (1, 5), (4096, 1)] {
            var rng = SeededGenerator(seed: UInt64(bits * 13 + count))
            let bpc = (bits + 7) / 8
            var raw = (0..<(count * bpc)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let mask = PackedCodes.paddingMask(bits: bits)
            for i in 0..<count { raw[i * bpc + bpc - 1] &= ~mask }
            write("npycodes-k\(bits)-n\(count)", NPYCodes.encoded(try PackedCodes(bits: bits, count: count, bytes: raw)))
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    _ = try? input.withUnsafeBytes { try NPYCodes.decode($0) }
    scratch.write(input)
    _ = try? NPYCodes.read(scratch.path, bits: 12)
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing `fuzzOneInput`.
@_cdecl("fuzz_npycodes_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { fuzzOneInput($0, $1) }
}
