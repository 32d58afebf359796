import Foundation
import XCTest

/// End-to-end tests of libbihash.so as a C program sees it: `tools/install` into a temporary prefix (one release
/// build shared by every test of this class), then `nm`/`readelf` on the library, and gcc-built C programs run
/// against it: the ABI test (Tests/BihashCTests/C/abi_test.c: every entry point, bad inputs, threads) and the C
/// example (examples/c), each also under AddressSanitizer + UBSan with leak checking.
///
/// The release build dominates (about 1 min warm, 2–4 min cold on 2 shared cores; its scratch directory
/// `.build-install` is kept between runs); the C programs themselves run in seconds, also under ASan (only the C
/// side is instrumented). Environment: `BIHASH_ABI_TABLE=path` keeps the markdown table of bad inputs.
final class LibraryTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    nonisolated(unsafe) static var prefix = ""
    nonisolated(unsafe) static var installError: String?

    override class func setUp() {
        super.setUp()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bihash-install-\(getpid())").path
        prefix = dir
        let r = run(["\(root)/tools/install", dir], in: root)
        if r.status != 0 { installError = "tools/install failed (\(r.status)):\n\(r.output.suffix(4000))" }
    }

    override class func tearDown() {
        if !prefix.isEmpty { try? FileManager.default.removeItem(atPath: prefix) }
        super.tearDown()
    }

    /// Runs a command; returns its exit status and combined stdout + stderr.
    @discardableResult
    static func run(_ argv: [String], in directory: String? = nil, environment: [String: String] = [:]) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (127, "cannot run \(argv): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func requireInstalled() throws {
        if let e = Self.installError { XCTFail(e); throw XCTSkip("libbihash.so was not installed") }
    }

    var library: String { "\(Self.prefix)/lib/libbihash.so" }

    func temporaryDirectory(_ name: String) throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("bihash-\(name)-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    func testInstallLaysOutThePrefix() throws {
        try requireInstalled()
        XCTAssertTrue(FileManager.default.fileExists(atPath: library))
        let header = try String(contentsOfFile: "\(Self.prefix)/include/bihash.h", encoding: .utf8)
        XCTAssertEqual(header, try String(contentsOfFile: "\(Self.root)/include/bihash.h", encoding: .utf8))
    }

    /// `nm -D --defined-only` lists exactly the header's BIHASH_API functions.
    func testExportsExactlyTheHeaderFunctions() throws {
        try requireInstalled()
        let nm = Self.run(["nm", "-D", "--defined-only", library])
        XCTAssertEqual(nm.status, 0, nm.output)
        let symbols = Set(nm.output.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
        let header = try String(contentsOfFile: "\(Self.root)/include/bihash.h", encoding: .utf8)
        let regex = try NSRegularExpression(pattern: #"BIHASH_API [^(;]*?\b(bihash_[a-z0-9_]+)\("#)
        let declared = Set(regex.matches(in: header, range: NSRange(header.startIndex..., in: header)).compactMap {
            Range($0.range(at: 1), in: header).map { String(header[$0]) }
        })
        XCTAssertGreaterThan(declared.count, 60)
        XCTAssertEqual(symbols.filter { !$0.hasPrefix("bihash_") }.sorted(), [], "non-bihash_ symbols exported")
        XCTAssertEqual(symbols.subtracting(declared).sorted(), [], "exported but not in the header")
        XCTAssertEqual(declared.subtracting(symbols).sorted(), [], "declared in the header but not exported")
    }

    /// Self-contained and relocatable: RUNPATH $ORIGIN, no soname, no Swift runtime or build-tree dependency.
    func testLibraryIsRelocatable() throws {
        try requireInstalled()
        let d = Self.run(["readelf", "-d", library])
        XCTAssertEqual(d.status, 0, d.output)
        XCTAssertTrue(d.output.contains("Library runpath: [$ORIGIN]"), d.output)
        XCTAssertFalse(d.output.contains("SONAME"), d.output)
        XCTAssertFalse(d.output.contains(".build"), d.output)
        XCTAssertFalse(d.output.contains("libswift"), "the Swift runtime must be linked in: \(d.output)")
        XCTAssertFalse(d.output.contains("libFoundation"), d.output)
        let ldd = Self.run(["ldd", library])
        XCTAssertFalse(ldd.output.contains("not found"), ldd.output)
    }

    /// Compiles a C file against the installed header and library.
    func compile(_ source: String, to output: String, sanitize: Bool) throws {
        var argv = ["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-I\(Self.prefix)/include",
                    "-I/usr/include/libpng16", "-o", output, source, "-L\(Self.prefix)/lib", "-Wl,-rpath,\(Self.prefix)/lib",
                    "-lbihash", "-lpng16", "-lturbojpeg", "-lz", "-lpthread", "-lm"]
        if sanitize { argv.insert(contentsOf: ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined"], at: 1) }
        let r = Self.run(argv)
        XCTAssertEqual(r.status, 0, "gcc failed:\n\(r.output)")
        if r.status != 0 { throw XCTSkip("compilation failed") }
    }

    static let sanitizerEnvironment = [
        "ASAN_OPTIONS": "detect_leaks=1",
        "LSAN_OPTIONS": "suppressions=\(root)/examples/c/lsan.supp:print_suppressions=0",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    ]

    func runABITest(sanitize: Bool) throws {
        try requireInstalled()
        let dir = try temporaryDirectory(sanitize ? "abi-asan" : "abi")
        try compile("\(Self.root)/Tests/BihashCTests/C/abi_test.c", to: "\(dir)/abi_test", sanitize: sanitize)
        try FileManager.default.createDirectory(atPath: "\(dir)/work", withIntermediateDirectories: true)
        let table = "\(dir)/bad-inputs.md"
        let r = Self.run(["\(dir)/abi_test", "\(dir)/work", table], environment: sanitize ? Self.sanitizerEnvironment : [:])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("0 failures"), r.output)
        let text = (try? String(contentsOfFile: table, encoding: .utf8)) ?? ""
        XCTAssertGreaterThan(text.split(separator: "\n").count, 100, "the bad-input table is short")
        if !sanitize, let keep = ProcessInfo.processInfo.environment["BIHASH_ABI_TABLE"] {
            try? text.write(toFile: keep, atomically: true, encoding: .utf8)
        }
    }

    func testEveryEntryPointFromC() throws { try runABITest(sanitize: false) }

    func testEveryEntryPointFromCUnderAddressSanitizer() throws { try runABITest(sanitize: true) }

    /// Builds and runs examples/c through its Makefile (copied to a temporary directory).
    func runExample(target: String, saveDirectory: String? = nil) throws -> String {
        try requireInstalled()
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
                || ProcessInfo.processInfo.environment["BIHASH_FASHION_MNIST_DIR"] != nil else {
            throw XCTSkip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        }
        let dir = try temporaryDirectory("example-\(target)")
        for f in ["Makefile", "example.c", "lsan.supp"] {
            try FileManager.default.copyItem(atPath: "\(Self.root)/examples/c/\(f)", toPath: "\(dir)/\(f)")
        }
        let r = Self.run(["make", "-s", "PREFIX=\(Self.prefix)", target, "ARGS=2000 500 2 \(saveDirectory ?? "")"], in: dir)
        XCTAssertEqual(r.status, 0, r.output)
        return r.output
    }

    func checkExampleOutput(_ out: String) {
        XCTAssertTrue(out.contains("libbihash 0.1.0 (ABI 1)"), out)
        XCTAssertTrue(out.contains("data: 2000 train rows, 500 queries, 784 features (28x28x1 images)"), out)
        XCTAssertTrue(out.contains("epoch 2/2"), out)
        XCTAssertTrue(out.contains("index: 2000 items of 32 bits"), out)
        XCTAssertTrue(out.contains("query 2 (label"), out)
        guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("mAP@All") }),
              let value = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else {
            return XCTFail("no mAP line in:\n\(out)")
        }
        XCTAssertGreaterThan(value, 0.2, "mAP@All of a 32-bit bi-half model on Fashion-MNIST pixels")
        XCTAssertLessThanOrEqual(value, 1)
    }

    func testCExample() throws {
        checkExampleOutput(try runExample(target: "run"))
    }

    func testCExampleUnderAddressSanitizer() throws {
        checkExampleOutput(try runExample(target: "asan"))
    }

    /// The C example and the installed CLI agree on the same data: the neighbours the example prints for queries
    /// 0–2 are exactly what `bihash search` finds in the index and query codes the example saved.
    func testCExampleMatchesTheCLI() throws {
        let saved = try temporaryDirectory("example-files")
        let out = try runExample(target: "run", saveDirectory: saved)
        let cli = "\(Self.prefix)/bin/bihash"
        guard FileManager.default.isExecutableFile(atPath: cli) else { throw XCTSkip("the bihash CLI was not installed") }
        let search = Self.run([cli, "search", "--index", "\(saved)/index.bhi", "--queries", "\(saved)/queries.bin", "-k", "10"])
        XCTAssertEqual(search.status, 0, search.output)
        // CLI lines: query_name \t rank \t item_name \t distance (names are row numbers and ids here).
        var fromCLI: [String: [String]] = [:]
        for line in search.output.split(separator: "\n") {
            let f = line.split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count == 4 else { continue }
            fromCLI[f[0], default: []].append("\(f[2])@\(f[3])")
        }
        // Example lines: "query 0 (label 9): id:label@distance ...".
        let lines = out.split(separator: "\n").filter { $0.hasPrefix("query ") }
        XCTAssertEqual(lines.count, 3, out)
        for line in lines {
            let q = String(line.split(separator: " ")[1])
            let neighbours = line.split(separator: ":", maxSplits: 1)[1].split(separator: " ").map { item -> String in
                let parts = item.split(separator: "@")
                return "\(parts[0].split(separator: ":")[0])@\(parts[1])"
            }
            XCTAssertEqual(fromCLI[q], neighbours, "query \(q): example \(neighbours), CLI \(fromCLI[q] ?? [])")
        }
        let info = Self.run([cli, "info", "\(saved)/model.safetensors"])
        XCTAssertEqual(info.status, 0, info.output)
        XCTAssertTrue(info.output.contains("bihalf"), info.output)
    }
}
