import BihashCore
import Foundation
import Testing
import _BihashTestSupport
import BihashData

@Suite("IDX")
struct IDXTests {
    @Test func readsGzipAndPlainFilesOfEveryType() throws {
        let dir = try TemporaryDirectory()
        let manifest = try PythonReference.run("data_fixtures.py", input: ["dir": dir.path])
        let files = try #require(manifest["files"] as? [String: [String: Any]])
        let names = ["images-idx3-ubyte.gz", "labels-idx1-ubyte.gz", "plain-idx2-ubyte", "i1.idx", "i2.idx.gz",
                     "i4.idx", "f4.idx.gz", "f8.idx"]
        let types: [IDXDataType] = [.uint8, .uint8, .uint8, .int8, .int16, .int32, .float32, .float64]
        for (name, type) in zip(names, types) {
            let info = try #require(files[name])
            let array = try IDXReader.read(path: dir.file(name))
            #expect(array.dataType == type, "\(name)")
            #expect(array.shape == ints(info["shape"]), "\(name)")
            #expect(array.doubleValues() == exactDoubles(info["values"]), "\(name)")
            if type.isInteger { #expect(try array.intValues() == ints(info["values"]), "\(name)") }
        }
        let images = try IDXReader.read(path: dir.file("images-idx3-ubyte.gz"))
        let pixels = ints(files["images-idx3-ubyte.gz"]?["values"])
        #expect(try images.uint8Values().map(Int.init) == pixels)
        let m = try images.floatMatrix(scale: 1 / 255)
        #expect(m.shape == [3, 20])
        #expect(m.scalars == pixels.map { Float($0) / 255 })
        #expect(throws: BihashError.self) { try IDXReader.read(path: dir.file("f4.idx.gz")).intValues() }
        #expect(throws: BihashError.self) { try IDXReader.read(path: dir.file("i2.idx.gz")).uint8Values() }
    }

    @Test func rejectsBadFiles() throws {
        let dir = try TemporaryDirectory()
        _ = try PythonReference.run("data_fixtures.py", input: ["dir": dir.path])
        func message(_ name: String) -> String {
            do {
                _ = try IDXReader.read(path: dir.file(name))
                return "accepted"
            } catch let error as BihashError {
                return error.description
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(message("truncated-idx3-ubyte.gz").contains("truncated"))
        #expect(message("trailing-idx3-ubyte.gz").contains("longer than"))
        #expect(message("header-cut-idx3-ubyte.gz").contains("truncated"))
        #expect(message("truncated-plain.idx").contains("truncated"))
        #expect(message("bad-magic.idx.gz").contains("magic number starts 0x01 0x00"))
        #expect(message("bad-dtype.idx.gz").contains("unknown IDX element type 0x07"))
        #expect(message("zero-dims.idx.gz").contains("dimension count 0"))
        #expect(message("huge-dims.idx.gz").contains("truncated"))
        let cut = message("cut-stream-idx3-ubyte.gz")
        #expect(cut.contains("truncated") || cut.contains("gzip"), "\(cut)")
        let corrupt = message("corrupt-idx3-ubyte.gz")
        #expect(corrupt.hasPrefix("invalid format"), "\(corrupt)")
        #expect(message("nope-idx1-ubyte.gz").contains("No such file"))
        for name in ["truncated-idx3-ubyte.gz", "bad-magic.idx.gz", "nope-idx1-ubyte.gz", "corrupt-idx3-ubyte.gz"] {
            #expect(message(name).contains(dir.file(name)), "message names the path: \(message(name))")
        }
        // An empty file.
        _ = FileManager.default.createFile(atPath: dir.file("empty.idx"), contents: Data())
        #expect(message("empty.idx").contains("truncated"))
    }
}
