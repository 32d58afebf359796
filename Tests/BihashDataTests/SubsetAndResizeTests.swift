import Foundation
import Testing
import BihashCore
@testable import BihashData
import _BihashTestSupport

/// The `fashion-mnist-20k` protocol (TARGETS.md backbone rows) and the image-row conversion the backbone input
/// uses, both against NumPy re-computations (tools/reference/data_fashion_mnist.py, data_area_resize.py).
@Suite struct SubsetAndResizeTests {
    @Test func areaResizeMatchesNumPy() throws {
        var rng = SeededGenerator(seed: 7)
        // Shrink, enlarge, non-integer ratios, every channel kind and both target channel counts.
        let shapes = [(28, 28, 1, 96, 96, 3), (13, 7, 3, 5, 9, 3), (9, 11, 4, 4, 3, 1), (6, 5, 2, 17, 4, 3),
                      (40, 30, 3, 96, 96, 3), (3, 3, 1, 1, 1, 1)]
        var cases: [[String: Any]] = []
        var images: [DecodedImage] = []
        for (w, h, c, tw, th, tc) in shapes {
            let pixels = (0..<(w * h * c)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            images.append(DecodedImage(width: w, height: h, channels: c, pixels: pixels))
            cases.append(["width": w, "height": h, "channels": c, "pixels": pixels.map { Int($0) },
                          "to_width": tw, "to_height": th, "to_channels": tc])
        }
        let reference = try PythonReference.run("data_area_resize.py", input: ["cases": cases])
        let rows = try #require(reference["rows"] as? [Any])
        for (i, (_, _, _, tw, th, tc)) in shapes.enumerated() {
            let got = try ImageDecoder.inputRow(images[i], width: tw, height: th, channels: tc)
            let want = PythonReference.doubles(rows[i])
            #expect(got.count == want.count)
            let err = zip(got, want).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(err < 2e-6, "case \(i): max abs error \(err)")
        }
    }

    @Test func convertRowsReplicatesGreyAndResizes() throws {
        var rng = SeededGenerator(seed: 3)
        let pixels = (0..<(2 * 28 * 28)).map { _ in Float(rng.next() % 256) / 255 }
        let x = try Tensor<Float>(shape: [2, 784], scalars: pixels)
        let same = try ImageDecoder.convertRows(x, from: (28, 28, 1), to: (28, 28, 3))
        #expect(same.shape == [2, 784 * 3])
        for r in 0..<2 { for p in 0..<784 { for c in 0..<3 { #expect(same.scalars[r * 2352 + p * 3 + c] == x.scalars[r * 784 + p]) } } }
        let big = try ImageDecoder.convertRows(x, from: (28, 28, 1), to: (96, 96, 3))
        let direct = try ImageDecoder.inputRow(
            DecodedImage(width: 28, height: 28, channels: 1, pixels: pixels[784..<1568].map { UInt8(($0 * 255).rounded()) }),
            width: 96, height: 96, channels: 3)
        #expect(big.shape == [2, 96 * 96 * 3] && Array(big.row(1)) == direct)
        #expect(throws: BihashError.self) { try ImageDecoder.convertRows(x, from: (28, 27, 1), to: (96, 96, 3)) }
        let bad = try Tensor<Float>(shape: [1, 4], scalars: [0, 0.5, 1.5, 0])
        #expect(throws: BihashError.self) { try ImageDecoder.convertRows(bad, from: (2, 2, 1), to: (4, 4, 3)) }
    }

    @Test(.enabled(if: FashionMNIST.isInstalled, "needs `apt-get install dataset-fashion-mnist`"))
    func fashionMNIST20kMatchesNumPySelection() throws {
        let data = try Protocols.load(name: "fashion-mnist-20k")
        #expect(data.name == "fashion-mnist-20k")
        #expect(data.queryFeatures.shape == [1000, 784] && data.databaseFeatures.shape == [20000, 784])
        #expect(data.trainLabels == data.databaseLabels)
        #expect((0..<10).map { c in data.queryLabels.filter { $0 == c }.count } == [Int](repeating: 100, count: 10))
        #expect((0..<10).map { c in data.databaseLabels.filter { $0 == c }.count } == [Int](repeating: 2000, count: 10))
        // Label-independent database order: a class-by-class order would change label only 9 times.
        let changes = zip(data.databaseLabels, data.databaseLabels.dropFirst()).filter { $0 != $1 }.count
        #expect(changes > 15000)

        let reference = try PythonReference.run("data_fashion_mnist.py", input: [
            "dir": FashionMNIST.directory, "subset": ["queries_per_class": 100, "database_per_class": 2000]])
        let testSplit = try FashionMNIST.loadSplit(train: false), trainSplit = try FashionMNIST.loadSplit(train: true)
        let queriesMatch = FashionMNIST.firstRows(perClass: 100, labels: testSplit.labels)
            == PythonReference.doubles(reference["subset_queries"]).map { Int($0) }
        let databaseMatches = FashionMNIST.firstRows(perClass: 2000, labels: trainSplit.labels).sorted()
            == PythonReference.doubles(reference["subset_database_sorted"]).map { Int($0) }
        #expect(queriesMatch && databaseMatches)
        func pixelSum(_ x: Tensor<Float>, _ i: Int) -> Int { x.row(i).reduce(0) { $0 + Int(($1 * 255).rounded()) } }
        let sums = (0..<20000).map { pixelSum(data.databaseFeatures, $0) }.sorted()
        let sumsMatch = sums == PythonReference.doubles(reference["subset_database_pixel_sums"]).map { Int($0) }
        #expect(sumsMatch, "database rows are the selected train images")
        // Same selection and order on every load.
        let again = try FashionMNIST.loadBalancedSubset()
        #expect(again.databaseLabels == data.databaseLabels && again.queryFeatures == data.queryFeatures)
    }
}
