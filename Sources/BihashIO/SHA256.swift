import BihashCore
import CCrypto

/// SHA-256 (FIPS 180-4), incremental, computed by OpenSSL's libcrypto (`EVP_sha256`; hardware SHA extensions
/// where the CPU has them). Used for model fingerprints and cache keys; not for secrets.
///
/// Non-copyable: the hashing state lives in one OpenSSL context, freed when the value ends.
///
/// ```swift
/// var h = SHA256()
/// h.update("abc")
/// let digest = h.finalize()   // 32 bytes
/// ```
public struct SHA256: ~Copyable {
    private let context: OpaquePointer

    public init() {
        // Allocation failure of a 200-byte context is out-of-memory, which Swift does not recover from either.
        guard let c = EVP_MD_CTX_new(), EVP_DigestInit_ex(c, EVP_sha256(), nil) == 1 else {
            fatalError("OpenSSL: cannot initialise a SHA-256 context (out of memory?)")
        }
        context = c
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Hashes `bytes` (any number of calls, in order).
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    /// Hashes `bytes`.
    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Hashes the UTF-8 bytes of `string`.
    public mutating func update(_ string: String) { update(Array(string.utf8)) }

    /// The 32-byte digest (consumes the hasher).
    public consuming func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        return out
    }

    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var s = SHA256()
        s.update(bytes)
        return s.finalize()
    }
}
