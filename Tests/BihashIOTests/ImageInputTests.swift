import Foundation
import Testing
import BihashCore
import BihashNN
import BihashMethods
@testable import BihashIO

/// `HashModel.imageInput` in model files: stored in `bihash.input` as `"image":{"width","height","channels"}`,
/// absent for feature models (whose metadata and fingerprints are then unchanged), and validated on load.
@Suite struct ImageInputTests {
    /// An LSH model over 4×3×1 "images" (D = 12), K = 8.
    func model(image: Bool) throws -> HashModel {
        var rng = SeededGenerator(seed: 3)
        let x = Tensor(uncheckedShape: [40, 12], scalars: (0..<480).map { _ in Float.random(in: -1...1, using: &rng) })
        let m = try Trainer.train(features: x, configuration: TrainingConfiguration(method: .lsh, bits: 8)).model
        if image { m.imageInput = try ImageInput(width: 4, height: 3, channels: 1) }
        return m
    }

    @Test func imageInputRoundTrips() throws {
        let m = try model(image: true)
        let file = try ModelFile.safetensors(for: m)
        #expect(file.metadata["bihash.input"] == #"{"dim":12,"preprocess":"none","image":{"width":4,"height":3,"channels":1}}"#)
        let loaded = try ModelFile.load(bytes: ModelFile.serialize(m))
        #expect(loaded.imageInput == (try ImageInput(width: 4, height: 3, channels: 1)))
        #expect(try ModelFile.fingerprint(loaded) == ModelFile.fingerprint(m))
    }

    @Test func featureModelsKeepTheTwoKeyForm() throws {
        let m = try model(image: false)
        #expect(try ModelFile.safetensors(for: m).metadata["bihash.input"] == #"{"dim":12,"preprocess":"none"}"#)
        #expect(try ModelFile.load(bytes: ModelFile.serialize(m)).imageInput == nil)
        // The image description is part of the fingerprint: the same weights with an image input differ.
        let withImage = try model(image: true)
        #expect(try ModelFile.fingerprint(m) != ModelFile.fingerprint(withImage))
    }

    @Test func rejectsInconsistentImageDescriptions() throws {
        let m = try model(image: false)
        var file = try ModelFile.safetensors(for: m)
        file.metadata["bihash.fingerprint"] = nil
        for (input, fragment) in [
            (#"{"dim":12,"preprocess":"none","image":{"width":4,"height":4,"channels":1}}"#, "does not give"),
            (#"{"dim":12,"preprocess":"none","image":{"width":3,"height":3,"channels":3}}"#, "does not give"),
            (#"{"dim":12,"preprocess":"none","image":{"width":12,"height":1,"channels":2}}"#, "1 or 3 channels"),
            (#"{"dim":12,"preprocess":"none","image":{"width":4,"height":3}}"#, "needs integer"),
            (#"{"dim":12,"preprocess":"none","image":{"width":4,"height":3,"channels":1,"mean":0}}"#, "unknown key"),
            (#"{"dim":12,"preprocess":"none","image":[4,3,1]}"#, "must be a JSON object"),
        ] {
            file.metadata["bihash.input"] = input
            let bytes = try file.serialized()
            #expect {
                _ = try ModelFile.load(bytes: bytes)
            } throws: { error in
                guard case BihashError.invalidFormat(let message) = error else { return false }
                return message.contains(fragment)
            }
        }
    }
}
