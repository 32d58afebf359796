// swift-tools-version: 6.0
// bihash: learning compact binary codes (bi-half, SDC, SHC and baselines) and searching them.
//
// Module graph (arrows point one way, lowest first; see README "Architecture"):
//   CBLAS, CZlib  →  BihashCore  →  BihashNN  →  BihashMethods
//   BihashCore  →  BihashData, BihashIndex  →  BihashEval
//   everything above  →  bihash-lab (developer experiments: demo, training benchmark)
import PackageDescription

// Release builds specialise generic tensor code across module boundaries (Tensor<Float> in BihashNN and
// BihashMethods); debug builds (tests) do not need it.
let crossModule: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]
// Hardware popcount and AVX2 for the Hamming kernels: x86-64-v3 (every machine of this project has AVX2, no
// AVX-512). Passed through the Clang importer, whose target features Swift's code generation uses too;
// `nonzeroBitCount` then compiles to AVX2 `vpshufb` popcounts instead of a scalar bit-twiddling loop.
let popcount: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]

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
        .executable(name: "bihash-lab", targets: ["bihash-lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),

        // MARK: - C++ shims
        // Debian's libonnx (1.12, `apt-get install libonnx-dev libprotobuf-dev`): builds, checks and serialises ONNX
        // models behind a pure-C header; the defines are the ones libonnx was built with (ONNXTargets.cmake).
        .target(
            name: "COnnx",
            cxxSettings: [.define("ONNX_ML", to: "1"), .define("ONNX_NAMESPACE", to: "onnx")],
            linkerSettings: [.linkedLibrary("onnx"), .linkedLibrary("onnx_proto"), .linkedLibrary("protobuf")]),

        // MARK: - Library
        .target(name: "BihashCore", dependencies: ["CBLAS"], swiftSettings: crossModule),
        .target(name: "BihashNN", dependencies: ["BihashCore"], swiftSettings: crossModule),
        .target(name: "BihashMethods", dependencies: ["BihashCore", "BihashNN"], swiftSettings: crossModule),
        .target(name: "BihashData", dependencies: ["BihashCore", "CZlib"], swiftSettings: crossModule),
        .target(name: "BihashIndex", dependencies: ["BihashCore"],
                swiftSettings: crossModule + popcount),
        .target(name: "BihashEval", dependencies: ["BihashCore", "BihashIndex"], swiftSettings: crossModule + popcount),
        .target(name: "BihashIO", dependencies: ["BihashCore", "BihashNN", "BihashMethods", "COnnx"], swiftSettings: crossModule),

        // MARK: - Tools
        .executableTarget(
            name: "bihash-lab",
            dependencies: [
                "BihashCore", "BihashNN", "BihashMethods", "BihashData", "BihashIndex", "BihashEval",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: crossModule),

        // MARK: - Benchmarks (tools/bench/; run by the scripts there, never by the tests)
        .executableTarget(
            name: "bihash-bench-search", dependencies: ["BihashCore", "BihashIndex"],
            path: "tools/bench/swift/search", swiftSettings: crossModule + popcount),

        // MARK: - Tests
        .target(name: "_BihashTestSupport", dependencies: ["BihashCore"], path: "Tests/_BihashTestSupport"),
        .testTarget(name: "BihashCoreTests", dependencies: ["BihashCore", "_BihashTestSupport"]),
        .testTarget(name: "BihashNNTests", dependencies: ["BihashCore", "BihashNN", "_BihashTestSupport"]),
        .testTarget(name: "BihashMethodsTests", dependencies: ["BihashCore", "BihashNN", "BihashMethods", "_BihashTestSupport"]),
        .testTarget(name: "BihashDataTests", dependencies: ["BihashCore", "BihashData", "_BihashTestSupport"]),
        .testTarget(name: "BihashIndexTests", dependencies: ["BihashCore", "BihashIndex", "_BihashTestSupport"]),
        .testTarget(name: "BihashEvalTests", dependencies: ["BihashCore", "BihashIndex", "BihashEval", "_BihashTestSupport"]),
        .testTarget(name: "BihashIOTests",
                    dependencies: ["BihashCore", "BihashNN", "BihashMethods", "BihashData", "BihashIO", "_BihashTestSupport"]),
    ],
    // Swift 5 language mode: the numeric kernels share raw buffers across DispatchQueue.concurrentPerform
    // chunks that never overlap, which Swift 6's strict Sendable checking cannot express without copies.
    swiftLanguageModes: [.v5]
)
