import BihashCore
import Foundation
import Testing
import _BihashTestSupport
import BihashData

@Suite("NPY")
struct NPYTests {
    @Test func roundTripFloatUInt8Int64() throws {
        let dir = try TemporaryDirectory()
        let x = try Tensor<Float>(shape: [3, 4], scalars: (0..<12).map { Float($0) * 0.37 - 1.5 })
        try NPY.write(x, to: dir.file("x.npy"))
        let back = try NPY.read(path: dir.file("x.npy"))
        #expect(back.dataType == .float32)
        #expect(back.floatTensor() == x)

        let bytes: [UInt8] = [0, 1, 127, 128, 255, 42]
        try NPY.write(uint8: bytes, shape: [2, 3], to: dir.file("u.npy"))
        let u = try NPY.read(path: dir.file("u.npy"))
        #expect(u.shape == [2, 3])
        #expect(try u.uint8Values() == bytes)

        let labels = [3, -1, Int(Int32.max) + 5, 0]
        try NPY.write(int64: labels, shape: [4], to: dir.file("l.npy"))
        #expect(try NPY.read(path: dir.file("l.npy")).intValues() == labels)

        let d = try Tensor<Double>(shape: [2, 2], scalars: [1e-300, -2.5, .pi, 7])
        try NPY.write(d, to: dir.file("d.npy"))
        let dBack = try NPY.read(path: dir.file("d.npy"))
        #expect(dBack.dataType == .float64)
        #expect(dBack.floatTensor() == d.converted(to: Float.self))
    }

    @Test func packedCodesRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let u = try Tensor<Float>(shape: [3, 12], scalars: (0..<36).map { Float(($0 * 7) % 5) - 2 })
        let codes = try PackedCodes(signsOf: u)
        try NPY.write(codes, to: dir.file("codes.npy"))
        let back = try NPY.readPackedCodes(path: dir.file("codes.npy"), bits: 12)
        #expect(back == codes)
        #expect(throws: BihashError.self) { try NPY.readPackedCodes(path: dir.file("codes.npy"), bits: 24) }
        // Non-zero padding bits are rejected.
        try NPY.write(uint8: [0xFF, 0xFF], shape: [1, 2], to: dir.file("pad.npy"))
        #expect(throws: BihashError.self) { try NPY.readPackedCodes(path: dir.file("pad.npy"), bits: 12) }
    }

    @Test func readsFilesWrittenByNumPy() throws {
        let dir = try TemporaryDirectory()
        let manifest = try PythonReference.run("data_fixtures.py", input: ["dir": dir.path])
        let files = try #require(manifest["files"] as? [String: [String: Any]])
        var checked = 0
        for (name, info) in files where name.hasSuffix(".npy") {
            let shape = ints(info["shape"])
            let array = try NPY.read(path: dir.file(name))
            #expect(array.shape == shape, "\(name)")
            let dtype = try #require(info["dtype"] as? String)
            if dtype.hasSuffix("f4") || dtype.hasSuffix("f8") {
                let expected = exactDoubles(info["values"]).map { Float($0) }
                #expect(array.floatTensor().scalars == expected, "\(name)")
            } else {
                #expect(try array.intValues() == ints(info["values"]), "\(name)")
            }
            checked += 1
        }
        #expect(checked >= 14)
        #expect(try NPY.read(path: dir.file("f8_v2.npy")).dataType == .float64)
        #expect(try NPY.read(path: dir.file("f4_3d.npy")).floatMatrix().shape == [2, 12])
        #expect(try NPY.read(path: dir.file("f4_1d.npy")).floatMatrix().shape == [5, 1])
        #expect(try NPY.read(path: dir.file("f4_empty.npy")).shape == [0, 4])
    }

    @Test func numpyReadsFilesWrittenBySwift() throws {
        let dir = try TemporaryDirectory()
        let x = try Tensor<Float>(shape: [2, 3], scalars: [0.1, -2, 3.25, .greatestFiniteMagnitude, -0.0, 1e-30])
        try NPY.write(x, to: dir.file("f.npy"))
        try NPY.write(uint8: [9, 8, 7], shape: [3], to: dir.file("u.npy"))
        try NPY.write(int64: [-4, 1 << 40], shape: [2, 1], to: dir.file("i.npy"))
        try NPY.write(Tensor<Float>(zeros: [0, 5]), to: dir.file("empty.npy"))
        try NPY.write(Tensor<Float>(zeros: [4, 3, 2], value: 0.5), to: dir.file("3d.npy"))
        // A shape long enough to need a multi-line-free long header still encodes as version 1.0.
        let paths = ["f.npy", "u.npy", "i.npy", "empty.npy", "3d.npy"].map(dir.file)
        let answer = try PythonReference.run("data_read_npy.py", input: ["paths": paths])
        let arrays = try #require(answer["arrays"] as? [[String: Any]])
        #expect(arrays.count == 5)
        let expected: [(String, [Int], [Double])] = [
            ("<f4", [2, 3], x.scalars.map(Double.init)), ("|u1", [3], [9, 8, 7]), ("<i8", [2, 1], [-4, Double(1 << 40)]),
            ("<f4", [0, 5], []), ("<f4", [4, 3, 2], [Double](repeating: 0.5, count: 24)),
        ]
        for (a, e) in zip(arrays, expected) {
            #expect(a["dtype"] as? String == e.0)
            #expect(ints(a["shape"]) == e.1)
            #expect(a["fortran_order"] as? Bool == false)
            #expect(ints(a["version"]) == [1, 0])
            #expect(exactDoubles(a["values"]) == e.2)
        }
        // Headers are padded so the data starts at a multiple of 64 bytes, as NumPy writes them.
        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("f.npy"))))
        let headerLength = Int(raw[8]) | Int(raw[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        #expect(raw[10 + headerLength - 1] == 0x0A)
    }

    @Test func rejectsBadFiles() throws {
        let dir = try TemporaryDirectory()
        _ = try PythonReference.run("data_fixtures.py", input: ["dir": dir.path])
        func message(_ name: String) -> String {
            do {
                _ = try NPY.read(path: dir.file(name))
                return "accepted"
            } catch let error as BihashError {
                return error.description
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(message("fortran.npy").contains("fortran_order"))
        #expect(message("complex.npy").contains("unsupported NPY dtype '<c8'"))
        #expect(message("strings.npy").contains("unsupported NPY dtype"))
        #expect(message("structured.npy").contains("structured"))
        #expect(message("truncated.npy").contains("truncated"))
        #expect(message("trailing.npy").contains("longer than"))
        #expect(message("header_only.npy").contains("truncated"))
        #expect(message("bad_magic.npy").contains("magic"))
        #expect(message("bad_version.npy").contains("version 4.0"))
        #expect(message("lying_shape.npy").contains("truncated"))
        #expect(message("lying_shape.npy").contains("1000000000000"))
        #expect(message("overflow_shape.npy").hasPrefix("limit exceeded"))
        #expect(message("missing.npy").contains("No such file"))
        #expect(message("missing.npy").contains(dir.file("missing.npy")))
        for name in ["fortran.npy", "truncated.npy", "bad_magic.npy"] {
            #expect(message(name).contains(dir.file(name)), "message names the path: \(message(name))")
        }
        // A directory is not a file.
        #expect(message("").contains("directory"))
        // Accepted: a rank-1 array flagged Fortran order has the same layout as C order.
        #expect(try NPY.read(path: dir.file("fortran_1d.npy")).count == 3)
        // Type mismatches in the accessors.
        #expect(throws: BihashError.self) { try NPY.read(path: dir.file("f4_v1.npy")).intValues() }
        #expect(throws: BihashError.self) { try NPY.read(path: dir.file("i8.npy")).uint8Values() }
    }

    @Test func headerParserEdgeCases() throws {
        func header(_ dict: String) -> [UInt8] {
            var h = Array(dict.utf8) + [0x0A]
            while (10 + h.count) % 64 != 0 { h.insert(0x20, at: h.count - 1) }
            return NPY.magic + [1, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)] + h
        }
        let ok = try NPY.decode(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }") + [UInt8](repeating: 0, count: 8))
        #expect(ok.shape == [2])
        let scalar = try NPY.decode(header("{\"shape\": (), \"fortran_order\": False, \"descr\": \"<i8\"}") + [UInt8](repeating: 1, count: 8))
        #expect(scalar.shape == [])
        #expect(try scalar.intValues() == [0x0101010101010101])
        let py2 = try NPY.decode(header("{'descr': '|u1', 'fortran_order': False, 'shape': (2L, 1L)}") + [5, 6])
        #expect(py2.shape == [2, 1])
        for bad in ["{'descr': '<f4', 'fortran_order': False}",
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
                    "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}",
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
                    "['descr']", "{'descr': 'f4', 'fortran_order': False, 'shape': (2,)}"] {
            #expect(throws: BihashError.self, "\(bad)") { try NPY.decode(header(bad) + [UInt8](repeating: 0, count: 8)) }
        }
    }
}
