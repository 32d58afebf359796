// Fuzz target: the index-file reader through its mmap open path, IndexFile.open(path) on a tmpfs file, then a
// search of the opened index. The XXH64 checksum at offset 56 is recomputed over the input first.
import BihashCore
import BihashIndex
import FuzzSupport

let scratch = ScratchFile(name: "input.bhidx")

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    Seeds.writeIfRequested { write in
        let dir = Seeds.scratchDirectory()
        for (bits, count) in [(64, 5), (12, 3), (8, 0), (1, 9), (4096, 1), (33, 4), (128, 2)] {
            var rng = SeededGenerator(seed: UInt64(bits * 11 + count))
            let bpc = (bits + 7) / 8
            var raw = (0..<(count * bpc)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let mask = PackedCodes.paddingMask(bits: bits)
            for i in 0..<count { raw[i * bpc + bpc - 1] &= ~mask }
            let index = try FlatIndex(codes: PackedCodes(bits: bits, count: count, bytes: raw),
                                      ids: (0..<count).map { UInt64($0 * 3 + 1) })
            let path = dir + "/seed.bhidx"
            try index.save(to: path)
            let encoded = Seeds.read(path)
            var patched = encoded
            patchChecksum(&patched, at: 56)
            guard patched == encoded else { fatalError("fuzz XXH64 disagrees with BihashIndex's checksum") }
            write("index-k\(bits)-n\(count)", encoded)
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = bytes(data, size)
    patchChecksum(&input, at: 56)
    scratch.write(input)
    guard let index = try? IndexFile.open(scratch.path) else { return 0 }
    if index.count > 0, let items = try? index.items() {
        let q = try? PackedCodes(bits: items.codes.bits, count: 1, bytes: Array(items.codes.bytes.prefix(items.codes.bytesPerCode)))
        if let q { _ = try? index.search(q, k: 3, threads: 1); _ = try? index.search(q, radius: 2, threads: 1) }
    }
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing `fuzzOneInput`.
@_cdecl("fuzz_index_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { fuzzOneInput($0, $1) }
}
