import BihashCore
import Foundation

/// The building blocks of the multi-index hashing tables (see `MultiIndexHashing`): substring key extraction,
/// the table memory, the listed bucket masks and the expected probing costs.
extension MultiIndexHashing {
    /// Key extraction for one substring: bits [start, start + bits) of a code, first bit most significant.
    struct Substring {
        let bits: Int
        let mask: UInt64
        /// Where this table's bucket offsets start in `offsets` (2^bits + 1 of them).
        let offsetBase: Int
        /// The 4 bytes read (from `window`, big-endian) hold the substring, `shift` bits above its last bit; codes
        /// shorter than 4 bytes are read byte by byte (`window` −1, from `firstByte`).
        let window: Int
        let shift: UInt64
        let firstByte: Int
        let byteCount: Int

        init(start: Int, bits: Int, offsetBase: Int, bytesPerCode: Int) {
            self.bits = bits
            mask = (1 << UInt64(bits)) - 1
            self.offsetBase = offsetBase
            firstByte = start >> 3
            byteCount = ((start + bits - 1) >> 3) - firstByte + 1
            // A substring of ≤ 20 bits spans ≤ 4 bytes (≤ 7 + 20 bits).
            window = bytesPerCode >= 4 ? Swift.min(firstByte, bytesPerCode - 4) : -1
            shift = UInt64(window >= 0 ? (window + 4) * 8 - start - bits : byteCount * 8 - (start & 7) - bits)
        }

        @inline(__always)
        func key(_ code: UnsafeRawPointer) -> Int {
            if window >= 0 {
                let word = UInt32(bigEndian: code.loadUnaligned(fromByteOffset: window, as: UInt32.self))
                return Int(truncatingIfNeeded: (UInt64(word) >> shift) & mask)
            }
            var acc: UInt64 = 0
            for b in 0..<byteCount { acc = acc << 8 | UInt64(code.load(fromByteOffset: firstByte + b, as: UInt8.self)) }
            return Int(truncatingIfNeeded: (acc >> shift) & mask)
        }
    }
}

/// Memory of the MIH tables, mapped anonymously and (on Linux) advised to use transparent huge pages: the probes
/// are random reads across megabytes of bucket offsets and row positions, and with 4 KiB pages nearly every one
/// would also miss the TLB. Zero-filled; written only while the tables are built, then read-only (shared by
/// copies of the `MultiIndexHashing` and by the search threads).
final class TableMemory: @unchecked Sendable {
    /// Start of the usable bytes (aligned to 2 MiB where huge pages are used).
    let base: UnsafeMutableRawPointer
    private let mapping: UnsafeMutableRawPointer
    private let mappedBytes: Int

    init(byteCount: Int) throws {
        let huge = 2 << 20
        // Over-allocate by one huge page so that the usable range can start on a 2 MiB boundary.
        mappedBytes = (byteCount + huge - 1) / huge * huge + huge
        guard let p = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              p != MAP_FAILED else {
            throw BihashError.limitExceeded("multi-index hashing: cannot map \(mappedBytes) bytes for the tables (errno \(errno))")
        }
        mapping = p
        let aligned = (Int(bitPattern: p) + huge - 1) / huge * huge
        base = p + (aligned - Int(bitPattern: p))
        #if os(Linux)
        _ = madvise(base, mappedBytes - (aligned - Int(bitPattern: p)), MADV_HUGEPAGE)  // advice only: may be ignored
        #endif
    }

    /// The bucket offsets (at the start of the block).
    var offsets: UnsafeMutablePointer<UInt32> { base.assumingMemoryBound(to: UInt32.self) }

    deinit { munmap(mapping, mappedBytes) }
}

/// The XOR masks of the first probing levels (substring distance ρ = 0, 1, 2, …) of every table, in the order
/// of Gosper's hack, as long as a width's levels so far hold at most `capacity` masks (1 + 16 + 120 + 560 + 1820
/// for 16-bit substrings: radius 4). Tables of the same width share one list. Immutable after `init`.
final class BucketMasks: @unchecked Sendable {
    static let capacity = 4096
    let masks: UnsafeMutablePointer<UInt32>
    /// Row t (`startStride` entries): level ρ of table t is `masks[row[ρ] ..< row[ρ + 1]]`, ρ ≤ `maxLevel[t]`.
    let starts: UnsafeMutablePointer<Int>
    let startStride: Int
    /// Highest listed level of each table (−1: none).
    let maxLevel: UnsafeMutablePointer<Int>
    private let maskCount: Int

    init(widths: [Int]) {
        var listed: [Int: (first: Int, starts: [Int])] = [:]
        var all: [UInt32] = []
        var stride = 1
        for w in widths where listed[w] == nil {
            var starts = [all.count]
            var rho = 0
            while rho <= w && starts.last! - starts[0] + binomial(w, rho) <= BucketMasks.capacity {
                // Every w-bit mask with rho bits set, in increasing order (Gosper's hack).
                var mask = (1 << rho) - 1
                while mask < 1 << w {
                    all.append(UInt32(mask))
                    if mask == 0 { break }
                    let c = mask & -mask
                    let r = mask + c
                    mask = (((r ^ mask) >> 2) / c) | r
                }
                starts.append(all.count)
                rho += 1
            }
            listed[w] = (starts[0], starts)
            stride = Swift.max(stride, starts.count)
        }
        maskCount = Swift.max(1, all.count)
        masks = .allocate(capacity: maskCount)
        masks.initialize(repeating: 0, count: maskCount)
        for (i, x) in all.enumerated() { masks[i] = x }
        startStride = stride
        starts = .allocate(capacity: widths.count * stride)
        starts.initialize(repeating: 0, count: widths.count * stride)
        maxLevel = .allocate(capacity: Swift.max(1, widths.count))
        for (t, w) in widths.enumerated() {
            let list = listed[w]!.starts
            for (j, v) in list.enumerated() { starts[t * stride + j] = v }
            maxLevel[t] = list.count - 2
        }
    }

    deinit { masks.deallocate(); starts.deallocate(); maxLevel.deallocate() }
}

/// The expected cost of probing each level (table t, substring distance ρ) for uniformly spread codes, from the
/// table sizes alone: C(sₜ, ρ) buckets of L / 2^sₜ entries each. It fixes the order in which the levels are probed
/// (the cheapest next level first; for tables of equal width, round-robin as in the paper) without counting
/// anything per query. Immutable.
final class LevelCosts: @unchecked Sendable {
    /// `work[t * stride + ρ]`: buckets + entries the level is expected to touch (the unit of the budget).
    let work: UnsafeMutablePointer<Double>
    let stride: Int

    init(widths: [Int], live: Int) {
        stride = (widths.max() ?? 0) + 1
        let n = Swift.max(1, widths.count * stride)
        work = .allocate(capacity: n)
        work.initialize(repeating: .infinity, count: n)
        for (t, s) in widths.enumerated() {
            for rho in 0...s {
                let buckets = Double(binomial(s, rho))
                work[t * stride + rho] = buckets * (1 + Double(live) / Double(1 << s))
            }
        }
    }

    deinit { work.deallocate() }
}

/// n choose k for small n (substring widths ≤ 20), saturating at Int.max / 4.
@inline(__always)
func binomial(_ n: Int, _ k: Int) -> Int {
    if k < 0 || k > n { return 0 }
    var result = 1
    for i in 0..<Swift.min(k, n - k) {
        result = result * (n - i) / (i + 1)
        if result > Int.max / 64 { return Int.max / 4 }
    }
    return result
}
