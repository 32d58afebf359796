import BihashCore
import Testing

/// NPYHeader, the header parser shared by BihashData's NPY and BihashIndex's NPYCodes (their own tests cover the
/// readers end to end, against files NumPy wrote).
@Suite struct NPYHeaderTests {
    /// A version 1.0 file: magic, version, length, `dict` padded to 64 bytes, then `payload`.
    static func npy(_ dict: String, payload: [UInt8] = []) -> [UInt8] {
        var h = Array(dict.utf8) + [0x0A]
        while (10 + h.count) % 64 != 0 { h.insert(0x20, at: h.count - 1) }
        return NPYHeader.magic + [1, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)] + h + payload
    }

    static func parse(_ bytes: [UInt8], maxHeaderLength: Int = NPYHeader.maxHeaderLength) throws -> NPYHeader {
        try bytes.withUnsafeBytes { try NPYHeader(bytes: $0, source: "t.npy", maxHeaderLength: maxHeaderLength) }
    }

    static func failure(_ body: () throws -> Void) -> BihashError? {
        do { try body() } catch let e as BihashError { return e } catch {}
        return nil
    }

    @Test func parsesTheFields() throws {
        let bytes = Self.npy("{'descr': '>i4', 'fortran_order': False, 'shape': (3, 2), }")
        let h = try Self.parse(bytes)
        #expect(h.dataType == .int32 && h.isByteSwapped && !h.fortranOrder)
        #expect(h.shape == [3, 2])
        #expect(h.dataOffset == bytes.count && h.dataOffset % 64 == 0)
        #expect(h.payloadByteCount == 24)
        let u = try Self.parse(Self.npy("{'descr': '>u1', 'fortran_order': True, 'shape': (5,), }"))
        #expect(u.dataType == .uint8 && !u.isByteSwapped && u.fortranOrder && u.payloadByteCount == 5)
        try u.validatePayloadLength(5, source: "t.npy")
    }

    @Test func rejectsWithMessagesNamingTheSource() throws {
        let cases: [([UInt8], String)] = [
            (Array(Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }").prefix(40)), "'t.npy' is truncated"),
            ([0x93] + Array("NUMPZ".utf8) + [1, 0, 0, 0], "magic"),
            (NPYHeader.magic + [4, 0, 0, 0], "version 4.0"),
            (Self.npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }"), "unsupported NPY dtype '<c8'"),
            (Self.npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"), "fortran_order"),
            (Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }"), "non-negative"),
            (Self.npy("{'descr': '<f4', 'fortran_order': False}"), "exactly the keys"),
        ]
        for (bytes, expected) in cases {
            let e = Self.failure { _ = try Self.parse(bytes) }
            guard case .invalidFormat(let m)? = e else { Issue.record("\(expected): \(String(describing: e))"); continue }
            #expect(m.contains(expected) && m.contains("t.npy"), "\(m)")
        }
        let overflow = Self.failure { _ = try Self.parse(Self.npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }")) }
        #expect(overflow?.description.hasPrefix("limit exceeded") == true, "\(String(describing: overflow))")
        let long = Self.failure { _ = try Self.parse(Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"), maxHeaderLength: 32) }
        #expect(long?.description.hasPrefix("limit exceeded") == true && long?.message.contains("limit of 32") == true)
    }

    @Test func payloadLengthMustMatch() throws {
        let h = try Self.parse(Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
        try h.validatePayloadLength(24, source: "t.npy")
        #expect(Self.failure { try h.validatePayloadLength(23, source: "t.npy") }?.message.contains("truncated") == true)
        #expect(Self.failure { try h.validatePayloadLength(25, source: "t.npy") }?.message.contains("longer than") == true)
    }

    @Test func byteCountSkipsZeroDimensions() {
        #expect(NPYHeader.byteCount(shape: [0, 1 << 20, 1 << 20], width: 4) == 0)
        // The zero does not hide a product of the other dimensions that overflows.
        #expect(NPYHeader.byteCount(shape: [0, Int.max / 2, 4], width: 4) == nil)
        #expect(NPYHeader.byteCount(shape: [], width: 8) == 8)
    }
}
