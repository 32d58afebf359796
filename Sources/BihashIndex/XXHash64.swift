/// XXH64 (Yann Collet's xxHash, 64-bit variant, seed 0): the checksum of index and codes files.
///
/// Chosen for speed (several GB/s, so verifying a 40 MB index on open costs milliseconds) and because it is a
/// published algorithm any reader can reproduce (`xxhash.xxh64_intdigest` in Python).
struct XXHash64 {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v1: UInt64, v2: UInt64, v3: UInt64, v4: UInt64
    private var total: UInt64 = 0
    /// Bytes not yet consumed by a 32-byte stripe (at most 31).
    private var pending: [UInt8] = []

    init(seed: UInt64 = 0) {
        v1 = seed &+ XXHash64.p1 &+ XXHash64.p2
        v2 = seed &+ XXHash64.p2
        v3 = seed
        v4 = seed &- XXHash64.p1
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* p2, 31) &* p1
    }

    @inline(__always) private static func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 {
        (acc ^ round(0, v)) &* p1 &+ p4
    }

    /// Feeds `count` bytes at `data`.
    mutating func update(_ data: UnsafeRawPointer, count: Int) {
        var p = data, n = count
        total &+= UInt64(count)
        if !pending.isEmpty {
            let take = Swift.min(32 - pending.count, n)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: take))
            p += take; n -= take
            if pending.count < 32 { return }
            pending.withUnsafeBytes { stripe($0.baseAddress!) }
            pending.removeAll(keepingCapacity: true)
        }
        while n >= 32 {
            stripe(p)
            p += 32; n -= 32
        }
        if n > 0 { pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n)) }
    }

    /// Feeds the bytes of `bytes`.
    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { if let b = $0.baseAddress { update(b, count: $0.count) } }
    }

    @inline(__always) private mutating func stripe(_ p: UnsafeRawPointer) {
        v1 = XXHash64.round(v1, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
        v2 = XXHash64.round(v2, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        v3 = XXHash64.round(v3, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        v4 = XXHash64.round(v4, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
    }

    /// The digest of everything fed so far.
    func finalize() -> UInt64 {
        var h: UInt64
        if total >= 32 {
            h = XXHash64.rotl(v1, 1) &+ XXHash64.rotl(v2, 7) &+ XXHash64.rotl(v3, 12) &+ XXHash64.rotl(v4, 18)
            h = XXHash64.merge(h, v1); h = XXHash64.merge(h, v2)
            h = XXHash64.merge(h, v3); h = XXHash64.merge(h, v4)
        } else {
            h = v3 &+ XXHash64.p5  // v3 == seed
        }
        h &+= total
        pending.withUnsafeBytes { raw in
            var i = 0
            let n = raw.count
            while i + 8 <= n {
                let k = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                h ^= XXHash64.round(0, k)
                h = XXHash64.rotl(h, 27) &* XXHash64.p1 &+ XXHash64.p4
                i += 8
            }
            if i + 4 <= n {
                let k = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
                h ^= k &* XXHash64.p1
                h = XXHash64.rotl(h, 23) &* XXHash64.p2 &+ XXHash64.p3
                i += 4
            }
            while i < n {
                h ^= UInt64(raw[i]) &* XXHash64.p5
                h = XXHash64.rotl(h, 11) &* XXHash64.p1
                i += 1
            }
        }
        h ^= h >> 33; h &*= XXHash64.p2
        h ^= h >> 29; h &*= XXHash64.p3
        h ^= h >> 32
        return h
    }

    /// XXH64 of one buffer.
    static func hash(_ data: UnsafeRawPointer, count: Int) -> UInt64 {
        var h = XXHash64()
        h.update(data, count: count)
        return h.finalize()
    }
}
