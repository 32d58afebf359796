import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Crash safety of the atomic writer (BihashCore.AtomicFileWriter), through the real save functions.
///
/// `bihash-lab save-loop --kind K --path P` saves generation after generation of a model, codes or index file to
/// one path (`ModelFile.save`, `CodesFile.write`, `IndexFile.write`, as the C ABI and CLIs do), printing `saved G`
/// after each save returns. With `--fork-server` it forks one such saver per request, which spares a process
/// start-up per kill. The test measures the time between two saves, then many times: starts a saver, waits for its
/// first save (or, one time in four, not), waits a seeded random fraction of a save, SIGKILLs it, and records:
/// - that the file exists once it has existed (never missing);
/// - a copy of the file, later checked by `bihash-lab check-saved` with the normal loader (model: safetensors
///   parser and model checks; codes: sizes and checksum; index: `mmap` open and whole-file checksum), which also
///   compares its contents (model, codes: every byte) with a fresh rebuild of the generation the file claims;
/// - which generations the file may hold: the last one reported or the one being written when killed (or, if
///   none was reported, the previous observation or the first one of this saver) — the previous file intact or
///   the new one complete, never torn and never older;
/// - the temporary files beside it: at most one (the killed writer's own, or the previous one if it was killed
///   before its first save), since each writer deletes the unlocked leftovers of dead writers. A kill that
///   leaves the killed writer's own temporary file behind landed mid-save; the test requires some.
/// Then a last, complete save must leave no temporary file at all.
///
/// Kills per kind: `BIHASH_CRASH_KILLS` (default 200; the three kinds run at once). Seeded (`BIHASH_CRASH_SEED`,
/// default 1): the kill points are drawn from it, and the assertions hold for every observation whatever the
/// scheduling. `BIHASH_CRASH_REPORT=path` appends a line of counts per kind.
@Suite struct CrashSafetyTests {
    static let kills = Int(ProcessInfo.processInfo.environment["BIHASH_CRASH_KILLS"] ?? "") ?? 200
    static let seed = UInt64(ProcessInfo.processInfo.environment["BIHASH_CRASH_SEED"] ?? "") ?? 1

    /// The three kinds run at once, each on its own thread: the loops mostly wait (for the child, the delay,
    /// `waitpid`), and on threads of their own they do not hold the test runner's shared threads meanwhile.
    @Test func killedSaversNeverLeaveATornFile() async throws {
        let kinds = ["model", "codes", "index"]
        let outcomes: [Outcome] = await withCheckedContinuation { continuation in
            let results = Results(count: kinds.count)
            let group = DispatchGroup()
            for (i, kind) in kinds.enumerated() {
                group.enter()
                let thread = Thread {
                    results.set(i, Self.run(kind: kind))
                    group.leave()
                }
                thread.stackSize = 4 << 20
                thread.start()
            }
            group.notify(queue: .global()) { continuation.resume(returning: results.all) }
        }
        var report = ""
        for o in outcomes {
            for p in o.problems { Issue.record("\(o.kind): \(p)") }
            #expect(o.kills == Self.kills, "\(o.kind): \(o.kills) of \(Self.kills) kills done")
            #expect(o.torn == 0 && o.missing == 0 && o.wrongGeneration == 0, "\(o.summary)")
            #expect(o.maxLeftovers <= 1, "\(o.kind): up to \(o.maxLeftovers) temporary files after a kill")
            // The kills must land inside saves, or the test shows nothing (5–25 % do, depending on the kind).
            #expect(o.interrupted >= 1, "\(o.kind): none of \(o.kills) kills interrupted a save")
            report += o.summary + "\n"
        }
        print(report, terminator: "")
        if let path = ProcessInfo.processInfo.environment["BIHASH_CRASH_REPORT"] {
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            if fd >= 0 {
                let bytes = Array(report.utf8)
                _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
        }
    }

    /// What one kind's kill loop found.
    struct Outcome {
        let kind: String
        var kills = 0, interrupted = 0, torn = 0, missing = 0, wrongGeneration = 0, maxLeftovers = 0
        var seconds = 0.0
        /// Measured seconds between two saves.
        var cycle = 0.0
        /// Every failed observation, and errors of the harness itself.
        var problems: [String] = []
        var summary: String {
            "CrashSafetyTests \(kind): \(kills) kills in \(String(format: "%.1f", seconds)) s (a save every \(String(format: "%.0f", cycle * 1000)) ms), \(interrupted) mid-save "
                + "(the killed writer's temporary file present), \(torn) torn, \(missing) missing, "
                + "\(wrongGeneration) wrong generation, at most \(maxLeftovers) temporary file(s) after a kill"
        }
    }

    /// What the test saw after one kill.
    struct Observation {
        /// First generation of the killed run.
        let start: UInt64
        /// Last generation it reported saved, if any.
        let lastSaved: UInt64?
        let exists: Bool
        /// Copy of the destination taken right after the kill.
        let snapshot: String
    }

    /// Outcomes written by the threads, read after all have finished.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Outcome?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ o: Outcome) { lock.lock(); values[i] = o; lock.unlock() }
        var all: [Outcome] { lock.lock(); defer { lock.unlock() }; return values.compactMap { $0 } }
    }

    /// Kills `bihash-lab save-loop --kind kind` `kills` times, then checks every observation.
    static func run(kind: String) -> Outcome {
        var o = Outcome(kind: kind)
        do {
            try run(kind: kind, into: &o)
        } catch {
            o.problems.append("\(error)")
        }
        return o
    }

    struct HarnessError: Error, CustomStringConvertible {
        let description: String
    }

    static func run(kind: String, into o: inout Outcome) throws {
        let dir = try Fixtures.directory("crash-\(kind)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let snapshots = dir.appendingPathComponent("snapshots")
        let work = dir.appendingPathComponent("work")
        for d in [snapshots, work] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        let target = work.appendingPathComponent("saved.\(kind)").path
        let stderrPath = dir.appendingPathComponent("stderr.txt").path
        let lab = CLI.executable("bihash-lab").path

        let server = try SaveServer(lab, ["save-loop", "--kind", kind, "--path", target, "--fork-server"], stderr: stderrPath)
        defer { server.finish() }
        func fail(_ what: String) -> HarnessError { HarnessError(description: "\(what): \(text(stderrPath))") }

        // The time between two saves on this machine now, so that kill points spread over a whole save. The
        // probe's file is the target itself, as generations 0…5 (the kills start at 6).
        try server.begin(0)
        guard try server.readSaves(atLeast: 6) >= 6 else { throw fail("the probe saved \(server.saves.count) of 6 files") }
        let cycle = server.seconds(from: 1, to: 5) / 4
        o.cycle = cycle
        _ = try server.killSaver()
        var start = (server.saves.last ?? 0) + 2
        try FileManager.default.removeItem(atPath: target)
        for name in try FileManager.default.contentsOfDirectory(atPath: work.path) {
            try FileManager.default.removeItem(at: work.appendingPathComponent(name))
        }

        var rng = SplitMix(seed: seed &+ kind.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) })
        var observations: [Observation] = []
        let began = Date()
        for kill in 0..<kills {
            // At a uniformly random point of the saver's second save (after the first is reported), or, one time
            // in four, of its first save, which begins by deleting the leftovers of the previous kill.
            let first = rng.next() % 4 == 0
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            let waitSaves = first ? 0 : 1
            try server.begin(start)
            let reported = try server.readSaves(atLeast: waitSaves)
            usleep(UInt32(cycle * u * 1e6))
            let status = try server.killSaver()
            guard reported >= waitSaves, status & 0x7f == SIGKILL else {
                throw fail("kill \(kill): the saver reported \(reported) of \(waitSaves) saves and ended with wait status \(status)")
            }
            let last = server.saves.last

            // The directory right after the kill: the file and the temporary files beside it.
            let names = try FileManager.default.contentsOfDirectory(atPath: work.path)
            let leftovers = names.filter { $0.hasPrefix("saved.\(kind).tmp-") }
            o.maxLeftovers = max(o.maxLeftovers, leftovers.count)
            if leftovers.contains(where: { $0.hasPrefix("saved.\(kind).tmp-\(server.saver)-") }) { o.interrupted += 1 }
            let snapshot = snapshots.appendingPathComponent(String(kill)).path
            let exists = FileManager.default.fileExists(atPath: target)
            if exists { try FileManager.default.copyItem(atPath: target, toPath: snapshot) }
            observations.append(Observation(start: start, lastSaved: last, exists: exists, snapshot: snapshot))
            o.kills += 1
            // The next saver starts past every generation this one may have written.
            start = (last ?? (start &- 1)) &+ 2
        }
        o.seconds = Date().timeIntervalSince(began)

        // Every snapshot through the normal loader, in one process.
        let present = observations.filter(\.exists)
        let check = try CLI.run("bihash-lab", ["check-saved", "--kind", kind] + present.map(\.snapshot))
        let lines = check.output.split(separator: "\n").map(String.init)
        guard lines.count == present.count else {
            throw HarnessError(description: "check-saved printed \(lines.count) lines for \(present.count) files: \(check.stderr)")
        }
        var results = [String: String](uniqueKeysWithValues: zip(present.map(\.snapshot), lines).map { ($0, $1) })

        // The sequence: each observation holds the previous state or the generation in flight.
        var previous: UInt64?  // generation seen after the previous kill; nil while the file never existed
        for (i, ob) in observations.enumerated() {
            let allowed: [UInt64?]
            if let saved = ob.lastSaved { allowed = [saved, saved + 1] } else { allowed = [previous, ob.start] }
            guard ob.exists else {
                if previous != nil || ob.lastSaved != nil {
                    o.missing += 1
                    o.problems.append("kill \(i): \(target) is missing")
                }
                continue
            }
            let line = results.removeValue(forKey: ob.snapshot) ?? "bad no result"
            guard line.hasPrefix("ok "), let g = UInt64(line.dropFirst(3)) else {
                o.torn += 1
                o.problems.append("kill \(i): the file is not a complete generation: \(line)")
                continue
            }
            if !allowed.contains(g) {
                o.wrongGeneration += 1
                o.problems.append("kill \(i): generation \(g), expected one of \(allowed.map { $0.map(String.init) ?? "none" })")
            }
            previous = g
        }

        // One complete save cleans up whatever the last kill left, and is itself loadable.
        let final = try CLI.run("bihash-lab", ["save-loop", "--kind", kind, "--path", target, "--start", String(start), "--count", "1"])
        if final.status != 0 { o.problems.append("the final save failed: \(final.stderr)") }
        let after = try FileManager.default.contentsOfDirectory(atPath: work.path)
        if after != ["saved.\(kind)"] { o.problems.append("left in the directory after a complete save: \(after)") }
        let last = try CLI.run("bihash-lab", ["check-saved", "--kind", kind, target])
        if last.output != "ok \(start)\n" { o.problems.append("after the final save: \(last.output) \(last.stderr)") }
    }

    static func text(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)).map { String($0.suffix(2000)) } ?? ""
    }

    /// SplitMix64: the seeded source of the kill schedule.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

/// `bihash-lab save-loop --fork-server`, started with `posix_spawn` (no Foundation run loop in the way): the test
/// writes `start G`, the server forks a saver and prints `pid P`; the saver prints `saved G` lines; the test
/// SIGKILLs P and the server prints `ended P S` once it has reaped it. One saver lives at a time, so every `saved`
/// line between two `start`s is the current saver's. stderr goes to a file.
final class SaveServer {
    let pid: pid_t
    private var input: Int32
    private var output: Int32
    private var pending = [UInt8]()
    /// The current saver's process id.
    private(set) var saver: pid_t = 0
    /// Generations the current saver reported, and when each line was read.
    private(set) var saves: [UInt64] = []
    private var times: [Date] = []
    private var ended: [pid_t: Int32] = [:]

    struct Failure: Error, CustomStringConvertible { let description: String }

    init(_ executable: String, _ arguments: [String], stderr: String) throws {
        var toChild: [Int32] = [-1, -1], fromChild: [Int32] = [-1, -1]
        guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else { throw Failure(description: "pipe failed") }
        // Close-on-exec, so that processes other tests start meanwhile do not inherit these ends.
        for f in toChild + fromChild { _ = fcntl(f, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], STDOUT_FILENO)
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        // OpenBLAS starts no worker thread, so the server is single-threaded and may fork.
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_NUM_THREADS"] = "1"
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child = pid_t()
        let rc = posix_spawn(&child, executable, &actions, nil, argv, envp)
        close(toChild[0])
        close(fromChild[1])
        guard rc == 0 else {
            close(toChild[1])
            close(fromChild[0])
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
        input = toChild[1]
        output = fromChild[0]
    }

    deinit { finish() }

    /// Forks a saver starting at generation `g`; returns once the server has named it.
    func begin(_ g: UInt64) throws {
        saves = []
        times = []
        saver = 0
        let line = Array("start \(g)\n".utf8)
        guard line.withUnsafeBytes({ write(input, $0.baseAddress, $0.count) }) == line.count else {
            throw Failure(description: "the server is gone")
        }
        let deadline = Date().addingTimeInterval(60)
        while saver == 0 {
            guard output >= 0, Date() < deadline else { throw Failure(description: "the server did not fork a saver") }
            try poll(until: deadline)
        }
    }

    /// Reads until the saver has reported at least `count` saves (or 60 s pass). Returns the number reported.
    func readSaves(atLeast count: Int) throws -> Int {
        let deadline = Date().addingTimeInterval(60)
        while saves.count < count && output >= 0 && Date() < deadline && ended[saver] == nil { try poll(until: deadline) }
        return saves.count
    }

    /// SIGKILLs the saver and waits for the server to report it reaped. Returns its wait status.
    func killSaver() throws -> Int32 {
        kill(saver, SIGKILL)
        let deadline = Date().addingTimeInterval(60)
        while ended[saver] == nil {
            guard output >= 0, Date() < deadline else { throw Failure(description: "saver \(saver) was not reaped") }
            try poll(until: deadline)
        }
        return ended[saver]!
    }

    /// Seconds between the reports of saves `i` and `j` of the current saver.
    func seconds(from i: Int, to j: Int) -> Double { times[j].timeIntervalSince(times[i]) }

    /// Closes the server's input (it exits) and reaps it.
    func finish() {
        if input >= 0 { close(input); input = -1 }
        if output >= 0 { close(output); output = -1 }
        if pid > 0 {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
    }

    /// Waits for output (at most until `deadline`), reads it and parses complete lines.
    private func poll(until deadline: Date) throws {
        var p = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
        let r = Glibc.poll(&p, 1, Int32(max(0, min(deadline.timeIntervalSinceNow, 1)) * 1000))
        if r < 0 && errno != EINTR { throw Failure(description: "poll: \(String(cString: strerror(errno)))") }
        if r <= 0 { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { return }
        if n <= 0 {
            close(output)
            output = -1
            return
        }
        pending += buffer[0..<n]
        while let newline = pending.firstIndex(of: 10) {
            let words = String(decoding: pending[..<newline], as: UTF8.self).split(separator: " ")
            pending.removeSubrange(...newline)
            switch (words.first, words.count) {
            case ("saved", 2): if let g = UInt64(words[1]) { saves.append(g); times.append(Date()) }
            case ("pid", 2): saver = pid_t(words[1]) ?? 0
            case ("ended", 3): if let p = pid_t(words[1]), let st = Int32(words[2]) { ended[p] = st }
            default: break
            }
        }
    }
}
