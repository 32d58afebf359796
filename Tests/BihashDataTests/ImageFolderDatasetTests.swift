import Foundation
import Testing
import BihashCore
@testable import BihashData
import _BihashTestSupport

/// `ImageFolder.loadDataset`: class subdirectories become labels, files are read in name order, and every row
/// equals a NumPy re-computation of decode → composite → channels → area resize → / 255
/// (tools/reference/data_image_folder.py writes the PNGs with Pillow).
@Suite struct ImageFolderDatasetTests {
    func check(layout: String, size: Int, channels: Int) throws {
        let dir = try TemporaryDirectory()
        let reference = try PythonReference.run("data_image_folder.py", input: [
            "dir": dir.path, "layout": layout, "size": size, "channels": channels])
        let set = try ImageFolder.loadDataset(directory: dir.path, width: size, height: size, channels: channels)
        let paths = (reference["paths"] as? [String]) ?? []
        #expect(set.paths == paths)
        #expect(set.rows.shape == [paths.count, size * size * channels])
        if layout == "classes" {
            #expect(set.labels == ints(reference["labels"]))
            #expect(set.classNames == ["a_cat", "b_dog", "c_owl"])
        } else {
            #expect(set.labels == nil && set.classNames.isEmpty)
        }
        let rows = (reference["rows"] as? [Any]) ?? []
        #expect(rows.count == paths.count)
        for (i, row) in rows.enumerated() {
            let want = PythonReference.doubles(row)
            let err = zip(set.rows.row(i), want).map { abs(Double($0) - $1) }.max() ?? 1
            #expect(want.count == size * size * channels && err < 2e-6, "row \(i): max abs error \(err)")
        }
    }

    @Test func classSubdirectoriesGiveLabels() throws { try check(layout: "classes", size: 12, channels: 3) }
    @Test func flatDirectoryIsUnlabelled() throws { try check(layout: "flat", size: 7, channels: 1) }

    @Test func rejectsEmptyMixedAndBrokenFolders() throws {
        let empty = try TemporaryDirectory()
        #expect(throws: BihashError.self) { try ImageFolder.loadDataset(directory: empty.path, width: 8, height: 8, channels: 1) }
        #expect(throws: BihashError.self) { try ImageFolder.loadDataset(directory: empty.path + "/missing", width: 8, height: 8, channels: 1) }
        let mixed = try TemporaryDirectory()
        _ = try PythonReference.run("data_image_folder.py", input: ["dir": mixed.path, "layout": "classes", "size": 4, "channels": 1])
        try FileManager.default.copyItem(atPath: mixed.file("c_owl/only.png"), toPath: mixed.file("stray.png"))
        #expect(throws: BihashError.self) { try ImageFolder.loadDataset(directory: mixed.path, width: 8, height: 8, channels: 1) }
        let broken = try TemporaryDirectory()
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: broken.file("bad.png")))
        do {
            _ = try ImageFolder.loadDataset(directory: broken.path, width: 8, height: 8, channels: 1)
            Issue.record("a broken file must fail")
        } catch let e as BihashError {
            #expect("\(e)".contains("bad.png"))
        }
    }
}
