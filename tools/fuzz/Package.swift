// swift-tools-version: 6.0
// libFuzzer targets for bihash's file readers (issue 9). Built and run by tools/fuzz/fuzz, never by `swift test`:
//   swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// Every target is one executable whose `LLVMFuzzerTestOneInput` feeds the input to a reader; its entry point
// (`fuzz_<name>_main`, the name SwiftPM links as `main`) hands that function to libFuzzer's driver. The main package (../..) is compiled into this build with the same flags, so its readers are
// instrumented for coverage and AddressSanitizer.
import PackageDescription

/// (target name, main-package products it needs)
let fuzzTargets: [(String, [String])] = [
    ("safetensors", ["bihash"]),        // SafetensorsFile(bytes:) + ModelFile via bihash_model_load_from_memory
    ("cabi-model", ["bihash"]),         // bihash_model_load (file), describe, encode
    ("cabi-index", ["bihash"]),         // bihash_index_open (mmap), search
    ("codes", ["BihashIndex"]),         // CodesFile(decoding:)
    ("index", ["BihashIndex"]),         // IndexFile.open (mmap), search
    ("npycodes", ["BihashIndex"]),      // NPYCodes.decode / read
    ("npy", ["BihashData"]),            // NPY.decode / read, FeatureMatrix.load(.npy), loadLabels
    ("idx", ["BihashData"]),            // IDXReader.read (plain and gzip), FeatureMatrix.load
    ("image", ["BihashData"]),          // ImageDecoder.decode(bytes:) (PNG, JPEG), inputRow
]

let package = Package(
    name: "bihash-fuzz",
    dependencies: [.package(name: "bihash", path: "../..")],
    targets: [
        // include/bihash.h of the main package, for the C ABI targets (libbihash.so is the `bihash` product).
        .systemLibrary(name: "CBihashFuzzABI", path: "Sources/CBihashFuzzABI"),
        // libFuzzer's LLVMFuzzerRunDriver, called from each target's entry point.
        .systemLibrary(name: "CFuzzDriver", path: "Sources/CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"], path: "Sources/FuzzSupport"),
        // Seeds written through libbihash itself (trained models, saved indexes).
        .target(name: "FuzzABISupport", dependencies: ["FuzzSupport", "CBihashFuzzABI", .product(name: "bihash", package: "bihash")],
                path: "Sources/FuzzABISupport"),
    ] + fuzzTargets.map { name, products in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: ["FuzzSupport"] + (products == ["bihash"] ? ["CBihashFuzzABI", "FuzzABISupport"] : [])
                + products.map { .product(name: $0, package: "bihash") },
            path: "Sources/fuzz-\(name)")
    },
    swiftLanguageModes: [.v5]
)
