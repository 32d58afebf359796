// Fuzz target: image decoding through bihash's wrapper, ImageDecoder.decode(bytes:) (libpng's simplified API,
// TurboJPEG), then the conversion to model input rows (28×28 gray, 8×5 RGB).
import BihashCore
import BihashData
import FuzzSupport

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    // PNG and JPEG seeds come from tools/fuzz/make_seeds.py (Pillow); nothing to write here.
    Seeds.writeIfRequested { _ in }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let image = try? ImageDecoder.decode(bytes: bytes(data, size), source: "fuzz") else { return 0 }
    _ = try? ImageDecoder.inputRow(image, width: 28, height: 28, channels: 1)
    _ = try? ImageDecoder.inputRow(image, width: 8, height: 5, channels: 3)
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing `fuzzOneInput`.
@_cdecl("fuzz_image_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { fuzzOneInput($0, $1) }
}
