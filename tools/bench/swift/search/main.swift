// bihash-bench-search: the Swift half of tools/bench/search (never run by the tests).
//
//   bihash-bench-search build  --db DB.npy --bits K --out INDEX.bhidx
//   bihash-bench-search search --index INDEX.bhidx --queries Q.npy --k 100 --radius R --reps 5
//                              [--distances OUT.i32] [--skip-mih]
//   bihash-bench-search profile --index INDEX.bhidx --queries Q.npy --k 100 --radius R --reps 20 [--mode knn|radius|all]
//
// `build` turns a .npy uint8 array of packed codes into an index file (ids 0..<N). `search` opens the index
// by mmap and times, over all queries at once: flat k-NN with 1 and 2 threads, multi-index hashing k-NN
// (1 and 2 threads), and radius search (flat and MIH, 1 thread). It checks that MIH and flat agree exactly,
// writes the flat k-NN distances (int32, [queries, k]) for the driver to compare with FAISS, and prints
// one JSON object on stdout.
import BihashCore
import BihashIndex
import Foundation

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Resident set size now and at peak, in KiB (from /proc/self/status).
func memoryKiB() -> (rss: Int, peak: Int) {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func field(_ name: String) -> Int {
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
    return (field("VmRSS:"), field("VmHWM:"))
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// CPU time of the process, in seconds (all threads).
func cpuNow() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Last `timeIt`'s median queries per CPU-second (for 1-thread runs: less disturbed by a busy machine than the
/// wall clock, which also counts the time the process waits for a core).
nonisolated(unsafe) var lastCPUQPS = 0.0

/// Median queries/s (wall clock) of `reps` runs of `body` (which answers `queries` queries), after one warm-up
/// run; the median queries per CPU-second goes to `lastCPUQPS`.
func timeIt<R>(_ queries: Int, reps: Int, _ body: () throws -> R) rethrows -> (qps: Double, result: R) {
    var result = try body()
    var rates: [Double] = []
    var cpuRates: [Double] = []
    for _ in 0..<reps {
        let t0 = now(), c0 = cpuNow()
        result = try body()
        rates.append(Double(queries) / (now() - t0))
        cpuRates.append(Double(queries) / Swift.max(cpuNow() - c0, 1e-9))
    }
    lastCPUQPS = median(cpuRates)
    return (median(rates), result)
}

func argument(_ name: String, _ args: [String]) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bihash-bench-search: \(message)\n".utf8))
    exit(2)
}

let args = Array(CommandLine.arguments.dropFirst())
do {
    switch args.first {
    case "build":
        guard let db = argument("--db", args), let bits = argument("--bits", args).flatMap(Int.init),
              let out = argument("--out", args) else { fail("build needs --db, --bits and --out") }
        let codes = try NPYCodes.read(db, bits: bits)
        let t0 = now()
        let index = try FlatIndex(codes: codes)
        try index.save(to: out)
        print("{\"build_s\": \(now() - t0), \"count\": \(index.count)}")

    case "search":
        guard let path = argument("--index", args), let qpath = argument("--queries", args) else {
            fail("search needs --index and --queries")
        }
        let k = argument("--k", args).flatMap(Int.init) ?? 100
        let radius = argument("--radius", args).flatMap(Int.init) ?? 8
        let reps = argument("--reps", args).flatMap(Int.init) ?? 5
        let t0 = now()
        let index = try FlatIndex.open(path)
        let openSeconds = now() - t0
        let queries = try NPYCodes.read(qpath, bits: index.bits)
        let nq = queries.count
        var out: [String: Any] = ["bits": index.bits, "count": index.count, "queries": nq, "k": k,
                                  "radius": radius, "open_s": openSeconds]
        let (flat1, exact) = try timeIt(nq, reps: reps) { try index.search(queries, k: k, threads: 1) }
        out["flat_t1_cpu_qps"] = lastCPUQPS
        let (flat2, exact2) = try timeIt(nq, reps: reps) { try index.search(queries, k: k, threads: 2) }
        out["flat_t1_qps"] = flat1
        out["flat_t2_qps"] = flat2
        out["flat_t2_identical"] = exact2 == exact
        out["rss_after_flat_kib"] = memoryKiB().rss
        if let dpath = argument("--distances", args) {
            var d = [Int32](repeating: -1, count: nq * k)
            for q in 0..<nq { for (j, n) in exact[q].enumerated() { d[q * k + j] = Int32(n.distance) } }
            try d.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: dpath)) }
        }
        let (rflat, within) = try timeIt(nq, reps: reps) { try index.search(queries, radius: radius, threads: 1) }
        out["radius_flat_t1_cpu_qps"] = lastCPUQPS
        out["radius_flat_t1_qps"] = rflat
        out["radius_mean_results"] = Double(within.reduce(0) { $0 + $1.count }) / Double(max(1, nq))
        if !args.contains("--skip-mih") {
            let t1 = now()
            let mih = try MultiIndexHashing(index)
            out["mih_build_s"] = now() - t1
            out["mih_m"] = mih.substringCount
            out["mih_table_bytes"] = mih.tableBytes
            let (m1, fromMIH) = try timeIt(nq, reps: reps) { try mih.search(queries, k: k, threads: 1) }
            out["mih_t1_cpu_qps"] = lastCPUQPS
            let (m2, fromMIH2) = try timeIt(nq, reps: reps) { try mih.search(queries, k: k, threads: 2) }
            out["mih_t1_qps"] = m1
            out["mih_t2_qps"] = m2
            // Recall = fraction of queries whose list equals the flat scan's (ids and order): exact means 1.0.
            let same = zip(fromMIH, exact).filter { $0 == $1 }.count
            out["mih_recall"] = Double(same) / Double(max(1, nq))
            out["mih_t2_identical"] = fromMIH2 == fromMIH
            let (rmih, withinMIH) = try timeIt(nq, reps: reps) { try mih.search(queries, radius: radius, threads: 1) }
            out["radius_mih_t1_cpu_qps"] = lastCPUQPS
            out["radius_mih_t1_qps"] = rmih
            out["radius_identical"] = withinMIH == within
        }
        let mem = memoryKiB()
        out["rss_kib"] = mem.rss
        out["peak_rss_kib"] = mem.peak
        let json = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))

    case "profile":
        // Only multi-index hashing, 1 thread, `reps` times (for `perf record`): no flat scan in the profile.
        // `--mode all` times flat and MIH k-NN and radius search by CPU time of the process (1 thread each), which
        // a busy machine disturbs less than wall-clock time.
        guard let path = argument("--index", args), let qpath = argument("--queries", args) else {
            fail("profile needs --index and --queries")
        }
        let k = argument("--k", args).flatMap(Int.init) ?? 100
        let radius = argument("--radius", args).flatMap(Int.init) ?? 8
        let reps = argument("--reps", args).flatMap(Int.init) ?? 20
        let mode = argument("--mode", args) ?? "knn"
        let index = try FlatIndex.open(path)
        let queries = try NPYCodes.read(qpath, bits: index.bits)
        let mih = try MultiIndexHashing(index)
        if mode == "all" {
            func cpuTime() -> Double {
                var t = timespec()
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
                return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
            }
            func cpuQPS(_ body: () throws -> [[Neighbor]]) rethrows -> (Double, [[Neighbor]]) {
                var result = try body()
                var rates: [Double] = []
                for _ in 0..<reps {
                    let t0 = cpuTime()
                    result = try body()
                    rates.append(Double(queries.count) / (cpuTime() - t0))
                }
                return (median(rates), result)
            }
            let (flat, exact) = try cpuQPS { try index.search(queries, k: k, threads: 1) }
            let (knn, fromMIH) = try cpuQPS { try mih.search(queries, k: k, threads: 1) }
            let (rflat, within) = try cpuQPS { try index.search(queries, radius: radius, threads: 1) }
            let (rmih, withinMIH) = try cpuQPS { try mih.search(queries, radius: radius, threads: 1) }
            print("flat \(Int(flat)) mih \(Int(knn)) (x\(String(format: "%.2f", knn / flat)), exact \(fromMIH == exact)) "
                  + "radius flat \(Int(rflat)) mih \(Int(rmih)) (x\(String(format: "%.2f", rmih / rflat)), exact \(withinMIH == within)) "
                  + "tables/codes \(String(format: "%.3f", Double(mih.tableBytes) / Double(index.count * index.bits / 8)))")
            break
        }
        let (qps, _) = try timeIt(queries.count, reps: reps) { () -> [[Neighbor]] in
            mode == "radius" ? try mih.search(queries, radius: radius, threads: 1) : try mih.search(queries, k: k, threads: 1)
        }
        print("{\"mode\": \"\(mode)\", \"mih_t1_qps\": \(qps)}")

    default:
        fail("usage: bihash-bench-search build|search … (see tools/bench/search)")
    }
} catch {
    fail("\(error)")
}
