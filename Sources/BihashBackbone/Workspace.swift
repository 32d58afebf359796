import BihashCore
import BihashNN
import Foundation

/// Buffer sizes (floats) for running EfficientNet-Lite0 on micro-batches of `microBatch` images of one size.
struct BufferPlan: Equatable, Sendable {
    let microBatch: Int
    /// Block inputs/outputs (stem output, projections), two of them in turn.
    let activations: Int
    /// Expansion outputs (whole maps or bands, see `MBConvBlock.bufferNeeds`) and the head output.
    let expanded: Int
    /// Depthwise outputs (whole maps or bands).
    let reduced: Int
    /// The stem's patch tile.
    let scratch: Int

    /// Images per micro-batch: enough output pixels in the last stages (≥ 16 rows at the 1/32 resolution: 2 images
    /// at 96 px, 1 at 224 px, 16 at 32 px) for the matrix products, few enough for fine-grained work sharing.
    /// Measured at 96 px: 1 image per micro-batch costs 15–20% more time than 2; 2, 4 and 8 cost the same.
    static func microBatch(height: Int, width: Int) -> Int {
        let last = ((height + 31) / 32) * ((width + 31) / 32)
        return Swift.max(1, Swift.min(32, (16 + last - 1) / last))
    }

    init(network: EfficientNetLite0, height: Int, width: Int) {
        let mb = BufferPlan.microBatch(height: height, width: width)
        var h = SamePadding(input: height, kernel: 3, stride: 2).output
        var w = SamePadding(input: width, kernel: 3, stride: 2).output
        var activations = h * w * EfficientNetLite0.stemChannels, expanded = 0, reduced = 0
        for block in network.mbBlocks {
            let needs = block.bufferNeeds(batch: mb, height: h, width: w)
            expanded = Swift.max(expanded, needs.expanded)
            reduced = Swift.max(reduced, needs.reduced)
            h = SamePadding(input: h, kernel: block.spec.kernel, stride: block.spec.stride).output
            w = SamePadding(input: w, kernel: block.spec.kernel, stride: block.spec.stride).output
            activations = Swift.max(activations, h * w * block.spec.outChannels)
        }
        // The head's output goes to `expanded` too.
        expanded = Swift.max(expanded, mb * h * w * EfficientNetLite0.featureDimension)
        self.microBatch = mb
        self.activations = mb * activations
        self.expanded = expanded
        self.reduced = reduced
        self.scratch = network.stem.scratchCount
    }
}

/// One worker's buffers for a `BufferPlan`, reused over its micro-batches and, through `WorkspacePool`, over calls.
struct Workspace {
    let plan: BufferPlan
    private var a: [Float], b: [Float], expanded: [Float], reduced: [Float], scratch: [Float]

    init(plan: BufferPlan) {
        self.plan = plan
        a = [Float](repeating: 0, count: plan.activations)
        b = [Float](repeating: 0, count: plan.activations)
        expanded = [Float](repeating: 0, count: plan.expanded)
        reduced = [Float](repeating: 0, count: plan.reduced)
        scratch = [Float](repeating: 0, count: Swift.max(1, plan.scratch))
    }

    mutating func withBuffers(_ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                                       UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        a.withUnsafeMutableBufferPointer { a in
            b.withUnsafeMutableBufferPointer { b in
                expanded.withUnsafeMutableBufferPointer { e in
                    reduced.withUnsafeMutableBufferPointer { r in
                        scratch.withUnsafeMutableBufferPointer { s in
                            body(a.baseAddress!, b.baseAddress!, e.baseAddress!, r.baseAddress!, s.baseAddress!)
                        }
                    }
                }
            }
        }
    }
}

/// Workspaces kept between calls: fresh multi-megabyte buffers cost page faults on every call (about 4% of the
/// time at 224 px). Holds at most `limit` workspaces, all of the most recent plan (image size); thread-safe.
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Workspace] = []
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    /// A workspace for `plan`: a kept one if any, else a new one.
    func take(_ plan: BufferPlan) -> Workspace {
        lock.lock()
        defer { lock.unlock() }
        if let i = free.lastIndex(where: { $0.plan == plan }) { return free.remove(at: i) }
        return Workspace(plan: plan)
    }

    /// Returns `workspace` for reuse; workspaces of another plan are dropped first.
    func give(_ workspace: Workspace) {
        lock.lock()
        defer { lock.unlock() }
        free.removeAll { $0.plan != workspace.plan }
        if free.count < limit { free.append(workspace) }
    }
}

/// Hands out the indices 0..<count once each, to whichever worker asks next; thread-safe.
final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var position = 0
    private let count: Int

    init(count: Int) { self.count = count }

    /// The next index, or nil when all are taken.
    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard position < count else { return nil }
        position += 1
        return position - 1
    }
}
