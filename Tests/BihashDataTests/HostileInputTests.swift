import BihashCore
import CJPEG
import CPNG
import Foundation
import Testing
@testable import BihashData

/// Hostile inputs of issue 9 for the data readers: each must fail with a `BihashError` (never crash, never allocate
/// what the header claims): a 65535×65535 PNG, a JPEG truncated at every byte offset, NPY and IDX headers that lie
/// about their shape, and decompression bombs within the side limits.
@Suite struct HostileInputTests {
    // MARK: Images

    /// A PNG of `width`×`height` 8-bit RGB with a valid IHDR (and CRC) but only a few bytes of IDAT.
    static func craftedPNG(width: UInt32, height: UInt32, colorType: UInt8 = 2) -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be32(UInt32(data.count)) + body + be32(crc32(body))
        }
        let ihdr = be32(width) + be32(height) + [8, colorType, 0, 0, 0]
        let idat: [UInt8] = [0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]  // zlib of one zero byte
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", [])
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    static func limitExceeded(_ body: () throws -> Void) -> String? {
        do { try body() } catch BihashError.limitExceeded(let m) { return m } catch { return "wrong error: \(error)" }
        return nil
    }

    @Test func png65535SquaredIsRejectedFromItsHeader() throws {
        let png = Self.craftedPNG(width: 65535, height: 65535)
        #expect(png.count < 100)
        let message = Self.limitExceeded { _ = try ImageDecoder.decode(bytes: png, source: "bomb.png") }
        #expect(message?.contains("65535×65535") == true, "\(message ?? "no error")")
        // Through a file and the input-row path as well.
        let dir = try TemporaryDirectory()
        try Data(png).write(to: URL(fileURLWithPath: dir.file("bomb.png")))
        #expect(Self.limitExceeded { _ = try ImageDecoder.inputRow(path: dir.file("bomb.png"), width: 28, height: 28, channels: 1) } != nil)
    }

    @Test func pngBombWithinTheSideLimitsIsRejectedBeforeDecoding() throws {
        // 16384×16384 RGB (2^28 pixels: within maxSide and maxPixels) from 60 bytes: deflate expands at most
        // 1032:1, so such a file cannot hold the pixels it claims and is refused before the 768 MiB buffer exists.
        let png = Self.craftedPNG(width: 16384, height: 16384)
        let message = Self.limitExceeded { _ = try ImageDecoder.decode(bytes: png, source: "bomb.png") }
        #expect(message?.contains("1032") == true, "\(message ?? "no error")")
        // A real small PNG of the same kind still decodes (the check only bounds the claim by the file size).
        let ok = try ImageDecoder.decode(bytes: Self.encodePNG(width: 5, height: 3, channels: 3))
        #expect(ok.width == 5 && ok.height == 3 && ok.channels == 3)
    }

    /// A PNG written by libpng's simplified API.
    static func encodePNG(width: Int, height: Int, channels: Int) throws -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = channels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
        let pixels = (0..<(width * height * channels)).map { UInt8(truncatingIfNeeded: $0 * 29) }
        var size = 0
        _ = png_image_write_to_memory(&image, nil, &size, 0, pixels, 0, nil)
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { png_image_write_to_memory(&image, $0.baseAddress, &size, 0, pixels, 0, nil) }
        try #require(ok != 0)
        return Array(out.prefix(size))
    }

    /// A JPEG written by TurboJPEG (`progressive` adds TJFLAG_PROGRESSIVE).
    static func encodeJPEG(width: Int, height: Int, progressive: Bool) throws -> [UInt8] {
        let handle = try #require(tjInitCompress())
        defer { tjDestroy(handle) }
        let pixels = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: ($0 * 53) ^ ($0 >> 3)) }
        var buffer: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let flags = progressive ? TJFLAG_PROGRESSIVE : 0
        let status = tjCompress2(handle, pixels, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue), &buffer, &size,
                                 Int32(TJSAMP_420.rawValue), 85, Int32(flags))
        try #require(status == 0)
        defer { tjFree(buffer) }
        return Array(UnsafeBufferPointer(start: try #require(buffer), count: Int(size)))
    }

    @Test(arguments: [false, true])
    func jpegTruncatedAtEveryOffsetFailsCleanly(progressive: Bool) throws {
        let jpeg = try Self.encodeJPEG(width: 20, height: 13, progressive: progressive)
        let full = try ImageDecoder.decode(bytes: jpeg, source: "whole.jpg")
        #expect(full.width == 20 && full.height == 13 && full.channels == 3)
        // Every proper prefix, from 0 bytes to all but the last, is an error (never a crash, never a gray-filled image).
        var decoded: [Int] = []
        for cut in 0..<jpeg.count {
            do {
                _ = try ImageDecoder.decode(bytes: Array(jpeg[0..<cut]), source: "cut.jpg")
                decoded.append(cut)
            } catch is BihashError {
            }
        }
        #expect(decoded.isEmpty, "prefixes of \(jpeg.count) bytes that decoded: \(decoded)")
    }

    @Test(arguments: [false, true])
    func huffmanJPEGBombIsRejectedBeforeDecoding(progressive: Bool) throws {
        // A baseline (SOF0) or progressive (SOF2) JPEG whose frame claims 16000×16000: each 8×8 block costs at
        // least one bit, so a file of a few hundred bytes cannot hold 2^28 pixels; refused from the header.
        var jpeg = try Self.encodeJPEG(width: 16, height: 16, progressive: progressive)
        let marker: UInt8 = progressive ? 0xC2 : 0xC0
        let sof = try #require((0..<(jpeg.count - 9)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == marker })
        jpeg[sof + 5] = UInt8(16000 >> 8); jpeg[sof + 6] = UInt8(16000 & 0xFF)   // height
        jpeg[sof + 7] = UInt8(16000 >> 8); jpeg[sof + 8] = UInt8(16000 & 0xFF)   // width
        let message = Self.limitExceeded { _ = try ImageDecoder.decode(bytes: jpeg, source: "bomb.jpg") }
        #expect(message?.contains("16000×16000") == true, "\(message ?? "no error")")
    }

    @Test func arithmeticCodedAndMarkerlessJPEGsAreRefusedBeforeDecoding() throws {
        // Arithmetic coding can spend far less than a bit per block, so its size bounds nothing: refused from
        // the frame marker (SOF9 here, a baseline file relabelled; libjpeg would decode its header).
        var jpeg = try Self.encodeJPEG(width: 16, height: 16, progressive: false)
        let sof = try #require((0..<(jpeg.count - 9)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg[sof + 1] = 0xC9
        #expect(throws: BihashError.invalidFormat("arith.jpg: unsupported JPEG coding (frame marker 0xFFC9): bihash decodes Huffman-coded JPEG (baseline, extended, progressive), not arithmetic-coded")) {
            _ = try ImageDecoder.decode(bytes: jpeg, source: "arith.jpg")
        }
        // Garbage between the start marker and the next segment (libjpeg only warns): refused.
        let original = try Self.encodeJPEG(width: 16, height: 16, progressive: false)
        let garbled = Array(original[0..<2]) + [0x00, 0x11] + Array(original[2...])
        #expect(throws: BihashError.self) { _ = try ImageDecoder.decode(bytes: garbled, source: "garbled.jpg") }
    }

    @Test func inputRowOfATallImageDoesNotBuildAFullFloatPlane() throws {
        // 1×20000 gray → 1×4: the conversion works row by row (no width·height·channels float buffer).
        let img = DecodedImage(width: 1, height: 20000, channels: 1, pixels: (0..<20000).map { UInt8($0 / 5000 * 60) })
        let row = try ImageDecoder.inputRow(img, width: 1, height: 4, channels: 3)
        #expect(row.count == 12)
        for (i, v) in row.enumerated() { #expect(abs(v - Float(i / 3 * 60) / 255) < 1e-4) }  // 5000-term float sums
    }

    // MARK: NPY

    static func npy(header: String, payload: [UInt8]) -> [UInt8] {
        var dict = Array(header.utf8)
        while (10 + dict.count + 1) % 64 != 0 { dict.append(0x20) }
        dict.append(0x0A)
        return NPY.magic + [1, 0, UInt8(dict.count & 0xFF), UInt8(dict.count >> 8)] + dict + payload
    }

    @Test func npyWithALyingShapeFailsCleanly() throws {
        let dir = try TemporaryDirectory()
        let cases: [(String, String)] = [
            // Claims 10^12 float32s, holds 16 bytes: truncated, checked before the payload is allocated.
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", "truncated"),
            // Claims fewer elements than there are bytes.
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", "longer"),
            // Shape product overflows Int.
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", "overflow"),
            // A zero dimension hides an overflowing product of the others (0 elements, but [N, D] would overflow).
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904, 4611686018427387904), }", "overflow"),
            // Negative dimension.
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-4, 1), }", "non-negative"),
        ]
        for (header, expected) in cases {
            let bytes = Self.npy(header: header, payload: [UInt8](repeating: 0, count: 16))
            let path = dir.file("lying.npy")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            for attempt in [{ _ = try NPY.decode(bytes, source: "lying.npy") },
                            { _ = try NPY.read(path: path) },
                            { _ = try FeatureMatrix.load(path: path) }] {
                do {
                    try attempt()
                    Issue.record("accepted \(header)")
                } catch let e as BihashError {
                    #expect(e.message.contains(expected), "\(header): \(e.message)")
                }
            }
        }
    }

    @Test func npyArrayRejectsShapesWhoseSubProductsOverflow() {
        #expect(throws: BihashError.self) {
            _ = try NPYArray(dataType: .uint8, shape: [0, Int.max / 2, 4], payload: [])
        }
        #expect(throws: BihashError.self) {
            _ = try IDXArray(dataType: .uint8, shape: [0, Int.max / 2, 4], payload: [])
        }
    }

    // MARK: IDX

    @Test func idxWithLyingDimensionsFailsCleanly() throws {
        let dir = try TemporaryDirectory()
        func idx(_ type: UInt8, _ dims: [UInt32], payload: Int) -> [UInt8] {
            var out: [UInt8] = [0, 0, type, UInt8(dims.count)]
            for d in dims { out += [UInt8(d >> 24), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
            return out + [UInt8](repeating: 7, count: payload)
        }
        let cases: [([UInt8], String)] = [
            (idx(0x08, [60000, 28, 28], payload: 100), "truncated"),            // claims 47 MB, holds 100 bytes
            (idx(0x0E, [UInt32.max, UInt32.max, UInt32.max], payload: 8), "overflow"),
            (idx(0x08, [0, UInt32.max, UInt32.max, UInt32.max], payload: 0), "overflow"),  // zero hides the overflow
            (idx(0x08, [2, 2], payload: 5), "longer"),
            (Array(idx(0x08, Array(repeating: 2, count: 40), payload: 0)), "dimension count"),
        ]
        for (i, (bytes, expected)) in cases.enumerated() {
            let path = dir.file("lying-\(i).idx")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                _ = try FeatureMatrix.load(path: path)
                Issue.record("case \(i) accepted")
            } catch let e as BihashError {
                #expect(e.message.contains(expected), "case \(i): \(e.message)")
            }
        }
    }
}
