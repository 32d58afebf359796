import Foundation
import Testing
@testable import BihashCore
#if canImport(Glibc)
import Glibc
#endif

/// AtomicFileWriter: replace, failure, and the clean-up of temporary files left by killed writers. (Killing real
/// writers is Tests/BihashCLITests/CrashSafetyTests.swift.)
@Suite struct AtomicFileTests {
    func directory() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("bihash-atomic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    func contents(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { [UInt8]($0) } }

    func list(_ d: String) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: d).sorted() }

    @Test func replacesTheFileAndLeavesNothingElse() throws {
        let d = try directory()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let p = d + "/f.bin"
        try writeFileAtomically([1, 2, 3], to: p)
        try writeFileAtomically([4, 5], to: p)
        #expect(contents(p) == [4, 5])
        #expect(try list(d) == ["f.bin"])
    }

    @Test func aFailedWriteLeavesTheDestinationAndNoTemporaryFile() throws {
        let d = try directory()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let p = d + "/f.bin"
        try writeFileAtomically([1, 2, 3], to: p)
        struct Stop: Error {}
        #expect(throws: Stop.self) { try writeFileAtomically(p) { w in try w.write([9, 9]); throw Stop() } }
        #expect(contents(p) == [1, 2, 3])
        #expect(try list(d) == ["f.bin"])
        #expect(throws: BihashError.self) { try writeFileAtomically([1], to: d + "/missing-directory/f.bin") }
    }

    /// A writer killed mid-save leaves `<path>.tmp-<pid>-<n>-<n>`, unlocked once it is dead: the next writer of the
    /// same path deletes it. Files that are locked (a live writer), of another path, not of the temporary name
    /// pattern, or symbolic links are left alone.
    @Test func theNextWriterDeletesUnlockedLeftoversOnly() throws {
        let d = try directory()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let p = d + "/f.bin"
        let stale = ["f.bin.tmp-12345-678-0", "f.bin.tmp-1-2-99"]
        let kept = ["f.bin.tmp-notes", "f.bin.tmp-1-2", "f.bin.tmp-1-2-3-4", "f.bin.tmp-1-x-3", "g.bin.tmp-1-2-3",
                    "f.bin.tmp-7-7-7.bak"]
        for n in stale + kept { try writeFileAtomically([7], to: d + "/" + n) }
        // A live writer's file: locked through an open descriptor, as AtomicFileWriter holds it.
        let live = d + "/f.bin.tmp-4242-1-0"
        let fd = open(live, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX) == 0)
        // A symbolic link with a temporary name, pointing at a file that must survive.
        try writeFileAtomically([8], to: d + "/precious")
        try FileManager.default.createSymbolicLink(atPath: d + "/f.bin.tmp-5-5-5", withDestinationPath: d + "/precious")

        try writeFileAtomically([1], to: p)
        let left = try list(d)
        for n in stale { #expect(!left.contains(n), "\(n) should have been deleted") }
        for n in kept + ["f.bin.tmp-4242-1-0", "f.bin.tmp-5-5-5", "precious", "f.bin"] { #expect(left.contains(n), "\(n) should remain") }
        #expect(contents(d + "/precious") == [8])
        #expect(left.count == kept.count + 4)
        // Unlocked (its writer died), the live writer's file goes at the next write.
        close(fd)
        try writeFileAtomically([2], to: p)
        #expect(!(try list(d)).contains("f.bin.tmp-4242-1-0"))
        #expect(contents(p) == [2])
    }
}
