// Shared pieces of the fuzz targets: a scratch file on tmpfs for the readers that take a path (and mmap it), the
// XXH64 checksum that codes and index files carry (patched into the input so mutations get past the checksum
// check and reach the fields behind it), and the seed-writing mode.
#if canImport(Glibc)
import Glibc
#endif
import CFuzzDriver

/// A file under /dev/shm (tmpfs: no disk I/O) rewritten with each input; readers open it by `path`.
public final class ScratchFile {
    public let path: String
    private let fd: Int32

    /// `name` ends the file name (e.g. "input.npy": FeatureMatrix chooses the reader by extension).
    public init(name: String) {
        let dir = "/dev/shm/bihash-fuzz-\(getpid())"
        mkdir(dir, 0o700)
        path = dir + "/" + name
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 { fatalError("cannot create \(path): \(String(cString: strerror(errno)))") }
        atexit { ScratchFile.removeAll() }
    }

    /// Replaces the file's contents with `bytes`.
    public func write(_ bytes: [UInt8]) {
        guard ftruncate(fd, 0) == 0 else { fatalError("ftruncate \(path) failed") }
        var done = 0
        bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(done))
                if n <= 0 { fatalError("pwrite \(path) failed") }
                done += n
            }
        }
    }

    private static func removeAll() {
        let dir = "/dev/shm/bihash-fuzz-\(getpid())"
        if let d = opendir(dir) {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(dir + "/" + name) }
            }
            closedir(d)
        }
        rmdir(dir)
    }
}

/// XXH64 (seed 0), the checksum of bihash codes and index files (a copy: BihashIndex keeps its own internal).
public enum XXH64 {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87, p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9, p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
    private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 { rotl(acc &+ input &* p2, 31) &* p1 }
    private static func merge(_ acc: UInt64, _ val: UInt64) -> UInt64 { (acc ^ round(0, val)) &* p1 &+ p4 }

    public static func hash(_ b: [UInt8]) -> UInt64 {
        func u64(_ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[i + $1]) << (8 * UInt64($1)) } }
        func u32(_ i: Int) -> UInt64 { (0..<4).reduce(0) { $0 | UInt64(b[i + $1]) << (8 * UInt64($1)) } }
        let n = b.count
        var i = 0
        var h: UInt64
        if n >= 32 {
            var v1 = p1 &+ p2, v2 = p2, v3: UInt64 = 0, v4 = 0 &- p1
            while i + 32 <= n {
                v1 = round(v1, u64(i)); v2 = round(v2, u64(i + 8)); v3 = round(v3, u64(i + 16)); v4 = round(v4, u64(i + 24))
                i += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = merge(h, v1); h = merge(h, v2); h = merge(h, v3); h = merge(h, v4)
        } else {
            h = p5
        }
        h = h &+ UInt64(n)
        while i + 8 <= n { h ^= round(0, u64(i)); h = rotl(h, 27) &* p1 &+ p4; i += 8 }
        if i + 4 <= n { h ^= u32(i) &* p1; h = rotl(h, 23) &* p2 &+ p3; i += 4 }
        while i < n { h ^= UInt64(b[i]) &* p5; h = rotl(h, 11) &* p1; i += 1 }
        h ^= h >> 33; h = h &* p2; h ^= h >> 29; h = h &* p3; h ^= h >> 32
        return h
    }
}

/// Overwrites the 8-byte checksum at `offset` with the XXH64 of the bytes (the field itself counted as zeros),
/// as bihash's codes (offset 88) and index (offset 56) writers do. Inputs shorter than the field are left alone.
public func patchChecksum(_ bytes: inout [UInt8], at offset: Int) {
    guard bytes.count >= offset + 8 else { return }
    for i in 0..<8 { bytes[offset + i] = 0 }
    let h = XXH64.hash(bytes)
    for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: h >> (8 * UInt64(i))) }
}

/// The seed-writing mode: when the environment variable BIHASH_FUZZ_SEEDS names a directory, `writeSeeds` calls
/// `body` with it and exits (called from `LLVMFuzzerInitialize`, before libFuzzer reads any corpus).
public enum Seeds {
    public static func writeIfRequested(_ body: (_ write: (String, [UInt8]) -> Void) throws -> Void) {
        guard let dir = getenv("BIHASH_FUZZ_SEEDS").map({ String(cString: $0) }) else { return }
        mkdir(dir, 0o755)
        var count = 0
        do {
            try body { name, bytes in
                let path = dir + "/" + name
                guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
                _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
                fclose(f)
                count += 1
            }
        } catch {
            fputs("seed generation failed: \(error)\n", stderr)
            exit(1)
        }
        print("wrote \(count) seeds to \(dir)")
        exit(0)
    }

    /// The bytes of the file at `path` (seeds that a writer produced on disk).
    public static func read(_ path: String) -> [UInt8] {
        guard let f = fopen(path, "rb") else { fatalError("cannot read \(path)") }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { fread($0.baseAddress, 1, 65536, f) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    /// A scratch directory for writers that need a path.
    public static func scratchDirectory() -> String {
        let dir = "/dev/shm/bihash-fuzz-seeds-\(getpid())"
        mkdir(dir, 0o700)
        return dir
    }
}

/// The input as an array.
public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Runs libFuzzer's driver with the process's arguments on `body` (the target's LLVMFuzzerTestOneInput).
public func runFuzzer(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                      _ body: @escaping @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, body)
}
