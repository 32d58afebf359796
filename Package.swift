// swift-tools-version: 6.0
// bihash: learning compact binary codes (bi-half, SDC, SHC and baselines) and searching them.
//
// Module graph (arrows point one way, lowest first; see README "Architecture"):
//   CBLAS, CZlib  →  BihashCore  →  BihashNN  →  BihashMethods, BihashBackbone
//   BihashCore  →  BihashData, BihashIndex  →  BihashEval
//   everything above  →  bihash-lab (developer experiments: demo, training benchmark, crash-safety save loop)
import PackageDescription

// Release builds specialise generic tensor code across module boundaries (Tensor<Float> in BihashNN and
// BihashMethods); debug builds (tests) do not need it.
let crossModule: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]
// Hardware popcount and AVX2 for the Hamming kernels: x86-64-v3 (every machine of this project has AVX2, no
// AVX-512). Passed through the Clang importer, whose target features Swift's code generation uses too;
// `nonzeroBitCount` then compiles to AVX2 `vpshufb` popcounts instead of a scalar bit-twiddling loop.
let popcount: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
// libbihash.so exports only `bihash_*` (DESIGN.md "C ABI rules"); the linker needs the script's absolute path.
let packageDirectory = String(#filePath.dropLast("Package.swift".count))
let versionScript = packageDirectory + "Sources/BihashC/bihash.map"
// BihashNN is optimised even in debug builds (see its target), except in the sanitizer builds of `tools/test
// --sanitize`, which set BIHASH_SANITIZE=1: there the optimised standard-library array code specialised into
// BihashNN calls malloc_usable_size on buffers AddressSanitizer does not own, and ASan aborts the CLI (the
// "bad-malloc_usable_size" reports of the first sanitizer run after the backbone landed; the unoptimised build
// runs clean). Sanitizer builds are slower, not different.
import Foundation
let optimizeNNInDebug: [SwiftSetting] = ProcessInfo.processInfo.environment["BIHASH_SANITIZE"] == "1"
    ? [] : [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "bihash",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "BihashCore", targets: ["BihashCore"]),
        .library(name: "BihashNN", targets: ["BihashNN"]),
        .library(name: "BihashMethods", targets: ["BihashMethods"]),
        .library(name: "BihashData", targets: ["BihashData"]),
        .library(name: "BihashIndex", targets: ["BihashIndex"]),
        .library(name: "BihashEval", targets: ["BihashEval"]),
        .library(name: "BihashBackbone", targets: ["BihashBackbone"]),
        // libbihash.so, the C ABI of include/bihash.h. Built self-contained by tools/install (`-Xswiftc -static-stdlib`).
        .library(name: "bihash", type: .dynamic, targets: ["BihashC"]),
        .executable(name: "bihash-lab", targets: ["bihash-lab"]),
        // The `bihash` CLI. Its product cannot be named "bihash": SwiftPM keys products by name and silently drops an
        // executable that shares the name of the libbihash.so product, so the binary is `bihash-cli` (install it as bin/bihash).
        .executable(name: "bihash-cli", targets: ["bihash"]),
        .executable(name: "bihash-export", targets: ["bihash-export"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // libpng's simplified png_image_* API and TurboJPEG 2.x's tj* API: image decoding without setjmp.
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        // include/bihash.h as a Clang module, so BihashC compiles against the header's own C types.
        .systemLibrary(name: "CBihashABI", path: "include"),

        // MARK: - C++ shims
        // Debian's libonnx (1.12, `apt-get install libonnx-dev libprotobuf-dev`): builds, checks and serialises ONNX
        // models behind a pure-C header; the defines are the ones libonnx was built with (ONNXTargets.cmake).
        .target(
            name: "COnnx",
            cxxSettings: [.define("ONNX_ML", to: "1"), .define("ONNX_NAMESPACE", to: "onnx")],
            linkerSettings: [.linkedLibrary("onnx"), .linkedLibrary("onnx_proto"), .linkedLibrary("protobuf")]),

        // MARK: - Library
        .target(name: "BihashCore", dependencies: ["CBLAS"], swiftSettings: crossModule),
        // AVX2 and FMA (x86-64-v3, see `popcount`) for the vector loops of the inference convolutions (Conv/), which
        // are also optimised in debug builds: unoptimised SIMD code is ~50× slower, and the backbone tests run the
        // whole CNN on 100 images (same floating-point semantics either way: no fast-math).
        .target(name: "BihashNN", dependencies: ["BihashCore"],
                swiftSettings: crossModule + popcount + optimizeNNInDebug),
        .target(name: "BihashMethods", dependencies: ["BihashCore", "BihashNN", "BihashBackbone"], swiftSettings: crossModule),
        // Pretrained CNN backbones (EfficientNet-Lite0), inference only; BihashIO loads their weight files.
        .target(name: "BihashBackbone", dependencies: ["BihashCore", "BihashNN"], swiftSettings: crossModule),
        .target(name: "BihashData", dependencies: ["BihashCore", "CZlib", "CPNG", "CJPEG"], swiftSettings: crossModule),
        // __builtin_prefetch for the multi-index hashing probes of BihashIndex (a header-only C shim).
        .target(name: "CPrefetch"),
        .target(name: "BihashIndex", dependencies: ["BihashCore", "CPrefetch"],
                swiftSettings: crossModule + popcount),
        .target(name: "BihashEval", dependencies: ["BihashCore", "BihashIndex"], swiftSettings: crossModule + popcount),
        .target(name: "BihashIO", dependencies: ["BihashCore", "BihashNN", "BihashMethods", "BihashBackbone", "CCrypto", "COnnx"],
                swiftSettings: crossModule),

        // MARK: - C ABI (product libbihash.so)
        .target(
            name: "BihashC",
            dependencies: ["CBihashABI", "BihashCore", "BihashNN", "BihashMethods", "BihashData", "BihashIndex",
                           "BihashEval", "BihashIO"],
            exclude: ["bihash.map"],
            swiftSettings: crossModule,
            // lld drops the script's local symbols from .dynsym entirely (gold keeps 41 of them, bound LOCAL).
            linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "--version-script=\(versionScript)"])]),

        // MARK: - Tools
        .executableTarget(
            name: "bihash-lab",
            dependencies: [
                "BihashCore", "BihashNN", "BihashMethods", "BihashData", "BihashIndex", "BihashEval", "BihashIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: crossModule),
        // The command-line tools: they call only the bihash_* functions of include/bihash.h (BihashC linked statically).
        .executableTarget(
            name: "bihash",
            dependencies: ["CBihashABI", "BihashC", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "bihash-export",
            dependencies: ["CBihashABI", "BihashC", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: - Benchmarks (tools/bench/; run by the scripts there, never by the tests)
        .executableTarget(
            name: "bihash-bench-search", dependencies: ["BihashCore", "BihashIndex"],
            path: "tools/bench/swift/search", swiftSettings: crossModule + popcount),
        .executableTarget(
            name: "bihash-bench-backbone", dependencies: ["BihashCore", "BihashBackbone", "BihashData", "BihashIO"],
            path: "tools/bench/swift/backbone", swiftSettings: crossModule),

        // MARK: - Tests
        .target(name: "_BihashTestSupport", dependencies: ["BihashCore"], path: "Tests/_BihashTestSupport"),
        .testTarget(name: "BihashCoreTests", dependencies: ["BihashCore", "_BihashTestSupport"]),
        .testTarget(name: "BihashNNTests", dependencies: ["BihashCore", "BihashNN", "_BihashTestSupport"]),
        .testTarget(name: "BihashMethodsTests", dependencies: ["BihashCore", "BihashNN", "BihashMethods", "_BihashTestSupport"]),
        .testTarget(name: "BihashDataTests", dependencies: ["BihashCore", "BihashData", "_BihashTestSupport"]),
        .testTarget(name: "BihashIndexTests", dependencies: ["BihashCore", "BihashIndex", "_BihashTestSupport"]),
        .testTarget(name: "BihashEvalTests", dependencies: ["BihashCore", "BihashIndex", "BihashEval", "_BihashTestSupport"]),
        .testTarget(name: "BihashBackboneTests",
                    dependencies: ["BihashCore", "BihashNN", "BihashBackbone", "BihashData", "BihashIO", "_BihashTestSupport"]),
        .testTarget(name: "BihashIOTests",
                    dependencies: ["BihashCore", "BihashNN", "BihashMethods", "BihashData", "BihashIO", "_BihashTestSupport"]),
        // Builds libbihash.so with tools/install, then compiles and runs C programs against it (examples/c, Tests/BihashCTests/C).
        .testTarget(name: "BihashCTests", exclude: ["C"]),
        // Runs the built `bihash` and `bihash-export` executables end to end (found beside the test bundle).
        .testTarget(name: "BihashCLITests"),
    ],
    // Swift 5 language mode: the numeric kernels share raw buffers across DispatchQueue.concurrentPerform
    // chunks that never overlap, which Swift 6's strict Sendable checking cannot express without copies.
    swiftLanguageModes: [.v5]
)
