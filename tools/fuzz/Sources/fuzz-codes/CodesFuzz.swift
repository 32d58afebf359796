// Fuzz target: the codes-file reader, CodesFile(decoding:). The XXH64 checksum at offset 88 is recomputed over
// the input first (patchChecksum), so that mutations reach the fields the checksum protects.
import BihashCore
import BihashIndex
import FuzzSupport

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    Seeds.writeIfRequested { write in
        for (bits, count, named) in [(64, 3, true), (12, 2, false), (8, 0, false), (1, 5, true), (4096, 1, false), (33, 4, true)] {
            var rng = SeededGenerator(seed: UInt64(bits * 7 + count))
            let bpc = (bits + 7) / 8
            var raw = (0..<(count * bpc)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let mask = PackedCodes.paddingMask(bits: bits)
            for i in 0..<count { raw[i * bpc + bpc - 1] &= ~mask }
            let codes = try PackedCodes(bits: bits, count: count, bytes: raw)
            let names = named ? (0..<count).map { "img/\($0)-é.png" } : nil
            let file = try CodesFile(codes: codes, fingerprint: (0..<32).map { UInt8($0) }, names: names)
            let encoded = file.encoded()
            var patched = encoded
            patchChecksum(&patched, at: 88)
            guard patched == encoded else { fatalError("fuzz XXH64 disagrees with BihashIndex's checksum") }
            write("codes-k\(bits)-n\(count)\(named ? "-names" : "")", encoded)
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = bytes(data, size)
    patchChecksum(&input, at: 88)
    if let file = try? input.withUnsafeBytes({ try CodesFile(decoding: $0, source: "fuzz") }) {
        _ = file.encoded()
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing `fuzzOneInput`.
@_cdecl("fuzz_codes_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { fuzzOneInput($0, $1) }
}
