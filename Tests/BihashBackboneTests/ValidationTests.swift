import BihashBackbone
import BihashCore
import BihashIO
import Foundation
import Testing
import _BihashTestSupport

// EfficientNet-Lite0 without the pretrained weights: the architecture table, weight validation, input
// validation, batching/threading invariance, logits, preprocessing and the weight file. Seeded synthetic weights.

@Suite struct ArchitectureAndValidationTests {
    static let weights = syntheticWeights()
    static let net = try! EfficientNetLite0(weights: weights)

    @Test func blockTableIsEfficientNetLite0() {
        // (kernel, stride, expansion, output channels) of blocks 0…15, from the EfficientNet-Lite builder's
        // block strings r1_k3_s11_e1_i32_o16 … r1_k3_s11_e6_i192_o320 expanded by their repeat counts.
        let expected: [[Int]] = [[3, 1, 1, 16], [3, 2, 6, 24], [3, 1, 6, 24], [5, 2, 6, 40], [5, 1, 6, 40],
                                 [3, 2, 6, 80], [3, 1, 6, 80], [3, 1, 6, 80], [5, 1, 6, 112], [5, 1, 6, 112],
                                 [5, 1, 6, 112], [5, 2, 6, 192], [5, 1, 6, 192], [5, 1, 6, 192], [5, 1, 6, 192],
                                 [3, 1, 6, 320]]
        #expect(EfficientNetLite0.blocks.map { [$0.kernel, $0.stride, $0.expansion, $0.outChannels] } == expected)
        // 5 stem + 10 (block 0) + 15 × 15 + 5 head + 2 classifier tensors.
        #expect(EfficientNetLite0.expectedShapes.count == 247)
        #expect(EfficientNetLite0.expectedShapes["_blocks.15._expand_conv.weight"] == [1152, 192, 1, 1])
        #expect(EfficientNetLite0.expectedShapes["_blocks.0._expand_conv.weight"] == nil)
        #expect(EfficientNetLite0.expectedShapes["_conv_head.weight"] == [1280, 320, 1, 1])
    }

    @Test func featuresHaveTheDocumentedShapeAndRange() throws {
        let f = try Self.net.features(randomImages(3, side: 48, seed: 1))
        #expect(f.shape == [3, 1280])
        #expect(f.scalars.allSatisfy { $0 >= 0 && $0 <= 6 })   // means of ReLU6 outputs
        #expect(Set(f.scalars).count > 100)                       // not constant
        let empty = try Self.net.features(Tensor<Float>(zeros: [0, 64, 64, 3]))
        #expect(empty.shape == [0, 1280])
    }

    @Test func featuresDoNotDependOnBatchOrThreads() throws {
        // Rectangular odd-sized images: every stage pads differently at the bottom/right.
        var rng = SeededGenerator(seed: 3)
        let images = Tensor<Float>.uniform([5, 37, 45, 3], low: -1, high: 1, using: &rng)
        let one = try Self.net.features(images, threads: 1)
        for threads in [2, 3, 8] {
            #expect(try Self.net.features(images, threads: threads) == one, "threads \(threads)")
        }
        for i in 0..<5 {
            let alone = try Self.net.features(images.rows(i..<(i + 1)), threads: 1)
            #expect(alone.scalars == Array(one.row(i)), "image \(i) alone")
        }
    }

    @Test func missingTensorsAreNamed() {
        var w = Self.weights
        w["_blocks.10._bn1.running_var"] = nil
        w["_conv_stem.weight"] = nil
        let message = errorMessage { _ = try EfficientNetLite0(weights: w) }
        #expect(message.contains("2 tensors are missing"), "\(message)")
        #expect(message.contains("'_conv_stem.weight' [32, 3, 3, 3]") && message.contains("'_blocks.10._bn1.running_var' [672]"), "\(message)")
    }

    @Test func wrongShapeIsNamed() {
        var w = Self.weights
        w["_blocks.3._depthwise_conv.weight"] = Tensor(zeros: [144, 1, 3, 3])
        let message = errorMessage { _ = try EfficientNetLite0(weights: w) }
        #expect(message.contains("'_blocks.3._depthwise_conv.weight' has shape [144, 1, 3, 3], expected [144, 1, 5, 5]"), "\(message)")
    }

    @Test func unexpectedTensorIsRejectedButBatchCountersAreIgnored() throws {
        var w = Self.weights
        w["_bn0.num_batches_tracked"] = Tensor(zeros: [])
        _ = try EfficientNetLite0(weights: w)
        w["_blocks.0._se_reduce.weight"] = Tensor(zeros: [8, 32, 1, 1])
        let message = errorMessage { _ = try EfficientNetLite0(weights: w) }
        #expect(message.contains("unexpected tensor '_blocks.0._se_reduce.weight'"), "\(message)")
    }

    @Test func unusableValuesAreRejected() {
        var w = Self.weights
        w["_blocks.2._bn0.running_var"]!.scalars[3] = -1
        #expect(errorMessage { _ = try EfficientNetLite0(weights: w) }.contains("running_var has negative values"))
        w = Self.weights
        w["_blocks.5._project_conv.weight"]!.scalars[0] = .infinity
        #expect(errorMessage { _ = try EfficientNetLite0(weights: w) }.contains("non-finite"))
        w = Self.weights
        w["_fc.bias"]!.scalars[0] = .nan
        #expect(errorMessage { _ = try EfficientNetLite0(weights: w) }.contains("_fc has non-finite values"))
    }

    @Test func badInputsThrow() {
        let net = Self.net
        for shape in [[64, 64, 3], [1, 64, 64, 1], [1, 64, 64, 4], [1, 3, 64, 64], [2, 31, 64, 3], [2, 64, 16, 3],
                      [1, 2049, 32, 3]] {
            let message = errorMessage { _ = try net.features(Tensor(zeros: shape)) }
            #expect(message.contains("EfficientNet-Lite0 input"), "\(shape): \(message)")
        }
        #expect(errorMessage { _ = try net.features(randomImages(1, side: 32, seed: 4), threads: 0) }.contains("threads"))
        #expect(errorMessage { _ = try net.logits(features: Tensor(zeros: [2, 1000])) }.contains("[N, 1280]"))
    }

    @Test func smallestImageWorks() throws {
        let f = try Self.net.features(randomImages(2, side: 32, seed: 5))
        #expect(f.shape == [2, 1280] && f.isFinite)
    }

    @Test func logitsAreTheClassifierOfTheFeatures() throws {
        let images = randomImages(2, side: 40, seed: 6)
        let f = try Self.net.features(images)
        let logits = try Self.net.logits(images)
        #expect(logits.shape == [2, 1000])
        let w = Self.weights["_fc.weight"]!, b = Self.weights["_fc.bias"]!
        var maxDiff = 0.0
        for i in 0..<2 {
            for c in stride(from: 0, to: 1000, by: 37) {
                var sum = Double(b.scalars[c])
                for j in 0..<1280 { sum += Double(f[i, j]) * Double(w[c, j]) }
                maxDiff = max(maxDiff, abs(sum - Double(logits[i, c])))
            }
        }
        #expect(maxDiff < 1e-3, "max diff \(maxDiff)")
    }

    @Test func preprocessingMapsUnitRowsToMinusOneOne() throws {
        let row = (0..<(32 * 32 * 3)).map { Float($0 % 256) / 255 }
        let x = try BackbonePreprocessing.images(fromUnitRows: [row, row], side: 32)
        #expect(x.shape == [2, 32, 32, 3])
        #expect(x.scalars[0] == -1 && x.scalars[255] == 1 && abs(x.scalars[128] - (2 * 128 / 255 - 1)) < 1e-6)
        #expect(errorMessage { _ = try BackbonePreprocessing.images(fromUnitRows: [row, Array(row.dropLast())], side: 32) }
            .contains("image row 1"))
        #expect(errorMessage { _ = try BackbonePreprocessing.images(fromUnitRows: [], side: 16) }.contains("side"))
        #expect(try BackbonePreprocessing.images(fromUnitScalars: (row + row)[...], side: 32) == x)
        #expect(errorMessage { _ = try BackbonePreprocessing.images(fromUnitScalars: row.dropLast(), side: 32) }
            .contains("not whole images"))
    }
}

@Suite struct BackboneFileTests {
    @Test func defaultPathFollowsTheEnvironment() throws {
        let name = "/backbones/efficientnet-lite0.safetensors"
        #expect(try BackboneFile.defaultEfficientNetLite0Path(environment: ["BIHASH_DATA_DIR": "/d", "XDG_DATA_HOME": "/x", "HOME": "/h"]) == "/d" + name)
        #expect(try BackboneFile.defaultEfficientNetLite0Path(environment: ["BIHASH_DATA_DIR": "", "XDG_DATA_HOME": "/x", "HOME": "/h"]) == "/x/bihash" + name)
        #expect(try BackboneFile.defaultEfficientNetLite0Path(environment: ["HOME": "/h"]) == "/h/.local/share/bihash" + name)
        #expect(throws: BihashError.self) { try BackboneFile.defaultEfficientNetLite0Path(environment: [:]) }
    }

    @Test func missingFileSaysHowToCreateIt() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("none.safetensors").path
        let message = errorMessage { _ = try BackboneFile.loadEfficientNetLite0(path: path) }
        #expect(message.contains(path) && message.contains("tools/setup") && message.contains("convert_efficientnet_lite0.py"), "\(message)")
    }

    @Test func roundTripThroughSafetensors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = syntheticWeights(seed: 11)
        var file = try SafetensorsFile(metadata: ["format": "bihash-backbone", "architecture": "efficientnet-lite0"])
        for (name, t) in weights { try file.insert(SafetensorsTensor(t), named: name) }
        let path = dir.appendingPathComponent("w.safetensors").path
        try file.write(to: path)
        let images = randomImages(2, side: 36, seed: 12)
        let loaded = try BackboneFile.loadEfficientNetLite0(path: path)
        #expect(try loaded.features(images) == EfficientNetLite0(weights: weights).features(images))

        // Another architecture's file, a tensor in another dtype, a missing tensor: each error names the file.
        file.metadata["architecture"] = "efficientnet-b0"
        try file.write(to: path)
        var message = errorMessage { _ = try BackboneFile.loadEfficientNetLite0(path: path) }
        #expect(message.contains(path) && message.contains("efficientnet-b0"), "\(message)")
        file.metadata["architecture"] = "efficientnet-lite0"
        try file.insert(SafetensorsTensor(dtype: .f64, shape: [1000], data: [UInt8](repeating: 0, count: 8000)), named: "_fc.bias")
        try file.write(to: path)
        message = errorMessage { _ = try BackboneFile.loadEfficientNetLite0(path: path) }
        #expect(message.contains(path) && message.contains("'_fc.bias'") && message.contains("F32"), "\(message)")
        var smaller = try SafetensorsFile()
        for (name, t) in weights where name != "_bn1.bias" { try smaller.insert(SafetensorsTensor(t), named: name) }
        try smaller.write(to: path)
        message = errorMessage { _ = try BackboneFile.loadEfficientNetLite0(path: path) }
        #expect(message.contains(path) && message.contains("'_bn1.bias'"), "\(message)")
    }
}
