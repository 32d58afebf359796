// bihash-bench-backbone: the Swift half of tools/bench/backbone (never run by the tests).
//
//   bihash-bench-backbone --weights W.safetensors --size S --batch B [--reps R] [--threads T]
//                         [--input X.npy] [--features-out F.npy]
//
// Loads EfficientNet-Lite0, then times `features` on one batch of B images of S×S pixels: one warm-up run,
// then R timed runs (default 5). The images are X.npy (float32 [B, S, S, 3] in [−1, 1]) or, without --input,
// seeded uniform values in [−1, 1]. Prints one JSON object: images/s of each run, their median, and the CPU time
// per image over the timed runs (all threads; steadier than wall time on a shared machine). With
// --features-out, also writes the features [B, 1280] (float32 NPY) for the driver to compare.
import BihashBackbone
import BihashCore
import BihashData
import BihashIO
import Foundation

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// User + system CPU seconds of this process so far (all threads).
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func argument(_ name: String, _ args: [String]) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bihash-bench-backbone: \(message)\n".utf8))
    exit(2)
}

let args = Array(CommandLine.arguments.dropFirst())
guard let weights = argument("--weights", args), let size = argument("--size", args).flatMap(Int.init),
      let batch = argument("--batch", args).flatMap(Int.init) else {
    fail("usage: bihash-bench-backbone --weights W --size S --batch B [--reps R] [--threads T] [--input X.npy] [--features-out F.npy]")
}
let reps = argument("--reps", args).flatMap(Int.init) ?? 5
let threads = argument("--threads", args).flatMap(Int.init) ?? Parallel.coreCount

do {
    let net = try BackboneFile.loadEfficientNetLite0(path: weights)
    let images: Tensor<Float>
    if let input = argument("--input", args) {
        images = try NPY.read(path: input).floatTensor()
        guard images.shape == [batch, size, size, 3] else { fail("\(input) has shape \(images.shape), expected [\(batch), \(size), \(size), 3]") }
    } else {
        var rng = SeededGenerator(seed: 42)
        images = Tensor<Float>.uniform([batch, size, size, 3], low: -1, high: 1, using: &rng)
    }
    var features = try net.features(images, threads: threads)   // warm-up
    var rates: [Double] = []
    let cpu0 = cpuSeconds()
    for _ in 0..<reps {
        let t0 = now()
        features = try net.features(images, threads: threads)
        rates.append(Double(batch) / (now() - t0))
    }
    let cpuMs = (cpuSeconds() - cpu0) * 1000 / Double(reps * batch)
    if let out = argument("--features-out", args) { try NPY.write(features, to: out) }
    let runs = rates.map { String(format: "%.2f", $0) }.joined(separator: ", ")
    print("{\"size\": \(size), \"batch\": \(batch), \"threads\": \(threads), \"images_per_s\": \(String(format: "%.2f", median(rates))), \"cpu_ms_per_image\": \(String(format: "%.3f", cpuMs)), \"runs\": [\(runs)]}")
} catch {
    fail("\(error)")
}
