@testable import BihashBackbone
import BihashCore
import BihashNN
import Testing
import _BihashTestSupport

// MBConv blocks on maps large enough to run in bands of rows (expanded rows kept between bands) must equal the
// composition of their three convolutions on whole tensors, whose kernels tools/reference/nn_conv.py checks.

@Suite struct BandedBlockTests {
    static let net = try! EfficientNetLite0(weights: syntheticWeights(seed: 21))

    /// Blocks 0 (no expansion), 1 (3×3 stride 2), 2 (residual), 3 (5×5 stride 2), 4 (5×5, residual).
    @Test(arguments: [0, 1, 2, 3, 4])
    func bandedBlockEqualsItsLayers(index: Int) throws {
        let block = Self.net.mbBlocks[index]
        let spec = block.spec
        let (h, w) = (93, 91)   // odd sides: SAME padding differs between the top and the bottom band
        let bands = try #require(block.bandRows(batch: 1, height: h, width: w), "block \(index) should run in bands")
        #expect(bands >= 1)
        var rng = SeededGenerator(seed: UInt64(30 + index))
        let x = Tensor<Float>.uniform([1, h, w, spec.inChannels], low: 0, high: 6, using: &rng)

        // Whole-tensor composition.
        var z = x
        if let expand = block.expand { z = try expand(z) }
        z = try block.depthwise(z)
        let expected = try block.project(z, residual: spec.hasResidual ? x : nil)

        // The block's banded run.
        let needs = block.bufferNeeds(batch: 1, height: h, width: w)
        var expanded = [Float](repeating: 0, count: Swift.max(1, needs.expanded))
        var reduced = [Float](repeating: 0, count: needs.reduced)
        var out = [Float](repeating: .nan, count: expected.count)
        x.scalars.withUnsafeBufferPointer { xp in
            expanded.withUnsafeMutableBufferPointer { e in
                reduced.withUnsafeMutableBufferPointer { r in
                    out.withUnsafeMutableBufferPointer { o in
                        block.run(input: xp.baseAddress!, batch: 1, height: h, width: w, expanded: e.baseAddress!,
                                  reduced: r.baseAddress!, output: o.baseAddress!)
                    }
                }
            }
        }
        let maxDiff = zip(out, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
        print("block \(index) in bands of \(bands) rows vs whole layers: max diff \(maxDiff)")
        #expect(maxDiff == 0)
    }
}
