import Testing
import BihashCore
@testable import BihashData

/// The conversion of decoded images into model input rows (compositing, channels, area resize, scaling) and the
/// rejection of non-images; file decoding of every PNG/JPEG kind is exercised through the C ABI test
/// (Tests/BihashCTests/C/abi_test.c), which writes its fixtures with libpng and TurboJPEG.
@Suite struct ImageDecoderTests {
    @Test func lumaAndScaling() throws {
        // One RGB pixel: luma = 0.299·R + 0.587·G + 0.114·B, then / 255.
        let img = DecodedImage(width: 1, height: 1, channels: 3, pixels: [255, 0, 0])
        let row = try ImageDecoder.inputRow(img, width: 1, height: 1, channels: 1)
        #expect(abs(row[0] - 0.299) < 1e-5)
        let rgb = try ImageDecoder.inputRow(img, width: 1, height: 1, channels: 3)
        #expect(rgb == [1, 0, 0])
    }

    @Test func alphaIsCompositedOnWhite() throws {
        // Black at alpha 0 becomes white; black at alpha 255 stays black; half alpha gives ~ half grey.
        let img = DecodedImage(width: 3, height: 1, channels: 2, pixels: [0, 0, 0, 255, 0, 128])
        let row = try ImageDecoder.inputRow(img, width: 3, height: 1, channels: 1)
        #expect(row[0] == 1 && row[1] == 0 && abs(row[2] - (1 - 128.0 / 255)) < 1e-5)
    }

    @Test func areaResizeAveragesAndPreservesConstants() throws {
        // 4×2 gray [0, 100, 200, 255 / same] down to 2×1: means of 2×2 blocks.
        let img = DecodedImage(width: 4, height: 2, channels: 1, pixels: [0, 100, 200, 250, 0, 100, 200, 250])
        let row = try ImageDecoder.inputRow(img, width: 2, height: 1, channels: 1)
        #expect(abs(row[0] - 50 / 255) < 1e-5 && abs(row[1] - 225 / 255) < 1e-5)
        // Non-integer ratios (3 → 2 and 2 → 5) keep a constant image constant.
        let flat = DecodedImage(width: 3, height: 2, channels: 1, pixels: [Array](repeating: [51], count: 6).flatMap { $0 })
        for (w, h) in [(2, 1), (5, 7), (3, 2)] {
            let r = try ImageDecoder.inputRow(flat, width: w, height: h, channels: 1)
            #expect(r.count == w * h && r.allSatisfy { abs($0 - 0.2) < 1e-5 })
        }
        // Weights of each output pixel sum to 1.
        for (s, t) in [(28, 28), (100, 28), (7, 28), (3, 2)] {
            for ws in ImageDecoder.areaWeights(source: s, target: t) {
                #expect(abs(ws.reduce(0) { $0 + $1.1 } - 1) < 1e-5)
            }
        }
    }

    @Test func rejectsNonImagesAndBadShapes() throws {
        #expect(throws: BihashError.self) { try ImageDecoder.decode(bytes: Array("hello".utf8), source: "x") }
        let img = DecodedImage(width: 1, height: 1, channels: 1, pixels: [0])
        #expect(throws: BihashError.self) { try ImageDecoder.inputRow(img, width: 1, height: 1, channels: 2) }
        #expect(throws: BihashError.self) { try ImageDecoder.inputRow(img, width: 0, height: 1, channels: 1) }
        #expect(ImageFolder.isImageName("a.PNG") && ImageFolder.isImageName("b.jpeg") && !ImageFolder.isImageName("c.gif"))
    }
}
