import Foundation
import Testing
import BihashCore
@testable import BihashIO

/// Hostile inputs of issue 9 for the safetensors and model readers: sizes that would make a naive reader allocate
/// exabytes must fail with a `BihashError` before any allocation proportional to them.
@Suite struct IOHostileInputTests {
    static func file(header: String, length: UInt64? = nil, data: [UInt8] = []) -> [UInt8] {
        let h = Array(header.utf8)
        var out = [UInt8]()
        withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
        return out + h + data
    }

    func error(_ body: () throws -> Void) -> BihashError? {
        do { try body() } catch let e as BihashError { return e } catch { Issue.record("not a BihashError: \(error)") }
        return nil
    }

    @Test func headerClaiming2To63BytesFailsCleanly() throws {
        let bytes = Self.file(header: "{}", length: 1 << 63)
        for e in [error { _ = try SafetensorsFile(bytes: bytes) }, error { _ = try ModelFile.load(bytes: bytes) }] {
            guard case .limitExceeded(let m)? = e else { Issue.record("expected limitExceeded, got \(String(describing: e))"); continue }
            #expect(m.contains("9223372036854775808") && m.contains("100000000"))
        }
        let path = NSTemporaryDirectory() + "bihash-hostile-\(getpid()).safetensors"
        defer { unlink(path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(error { _ = try ModelFile.load(path: path) } != nil)
        // All-ones length (2^64 − 1) too.
        #expect(error { _ = try SafetensorsFile(bytes: Self.file(header: "{}", length: UInt64.max)) } != nil)
    }

    @Test func tensorOffsetsAndShapesClaimingExabytesFailCleanly() {
        let cases: [(String, String)] = [
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,9223372036854775807]}}"#, "past the end"),
            (#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, "overflows"),
            (#"{"a":{"dtype":"F32","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]}}"#, "overflows"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}}"#, "non-negative integers"),
        ]
        for (header, expected) in cases {
            let e = error { _ = try SafetensorsFile(bytes: Self.file(header: header, data: [UInt8](repeating: 0, count: 8))) }
            #expect(e?.message.contains(expected) == true, "\(header): \(String(describing: e))")
        }
    }

    @Test func tensorCountIsLimited() throws {
        let n = SafetensorsFile.maxTensorCount + 1
        let header = "{" + (0..<n).map { #""t\#($0)":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}"# }.joined(separator: ",") + "}"
        let e = error { _ = try SafetensorsFile(bytes: Self.file(header: header)) }
        guard case .limitExceeded(let m)? = e else { Issue.record("expected limitExceeded, got \(String(describing: e))"); return }
        #expect(m.contains("\(n) tensors"))
        // Exactly the limit is accepted.
        let ok = "{" + (0..<(n - 1)).map { #""t\#($0)":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}"# }.joined(separator: ",") + "}"
        #expect(try SafetensorsFile(bytes: Self.file(header: ok)).tensors.count == n - 1)
    }

    @Test func tensorInitRejectsShapesWhoseSubProductsOverflow() {
        #expect(throws: BihashError.self) {
            _ = try SafetensorsTensor(dtype: .u8, shape: [0, Int.max / 2, 4], data: [])
        }
    }
}
