import Foundation
import Testing
import BihashCore
import BihashMethods
import _BihashTestSupport
@testable import BihashIO

/// An SHC model keeps its hash centres and distances (`bihash.train.shc.*`) through a model file.
@Suite struct SHCModelFileTests {
    @Test func shcMetadataSurvivesARoundTrip() throws {
        var rng = SeededGenerator(seed: 8)
        let x = Tensor<Float>.normal([120, 10], using: &rng)
        let labels = (0..<120).map { $0 % 5 }
        var c = TrainingConfiguration(method: .shc, bits: 16)
        c.epochs = 1
        c.shcClassifierEpochs = 2
        let model = try Trainer.train(features: x, labels: labels, configuration: c).model
        let loaded = try ModelFile.load(bytes: ModelFile.serialize(model))
        #expect(loaded.method == .shc)
        for key in ["shc.centers", "shc.required_distance", "shc.classes"] {
            #expect(loaded.metadata[key] != nil && loaded.metadata[key] == model.metadata[key], "\(key)")
        }
        #expect(loaded.metadata["shc.classes"] == "5")
        let centers = try SHCCenterCodec.decode(try #require(loaded.metadata["shc.centers"]), bits: 16)
        #expect(centers.shape == [5, 16])
        let required = try #require(loaded.metadata["shc.required_distance"])
        #expect(Int(required) == (try HashCenters.requiredDistance(bits: 16, classes: 5)))
        let file = try ModelFile.safetensors(for: model)
        #expect(file.metadata["bihash.train.shc.centers"] == model.metadata["shc.centers"])
        #expect(try loaded.encode(x) == model.encode(x))
    }
}
