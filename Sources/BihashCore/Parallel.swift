import Dispatch
import Foundation

/// Work splitting over the machine's cores.
public enum Parallel {
    /// Cores available to this process.
    public static var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Runs `body(chunkIndex, range)` over `0..<count` split into at most `threads` contiguous chunks.
    /// Chunks are fixed by (count, threads), so any per-chunk result is deterministic; with `threads == 1`
    /// the body runs on the calling thread.
    public static func forEachChunk(count: Int, threads: Int = Parallel.coreCount,
                                    _ body: (Int, Range<Int>) -> Void) {
        let t = Swift.max(1, Swift.min(threads, count))
        if t <= 1 {
            if count > 0 { body(0, 0..<count) }
            return
        }
        let chunk = (count + t - 1) / t
        DispatchQueue.concurrentPerform(iterations: t) { c in
            let lo = c * chunk, hi = Swift.min(count, lo + chunk)
            if lo < hi { body(c, lo..<hi) }
        }
    }
}
