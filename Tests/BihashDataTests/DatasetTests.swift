import BihashCore
import Foundation
import Testing
import _BihashTestSupport
import BihashData

@Suite("Data sets, protocols and validation")
struct DatasetTests {
    @Test func featureMatrixDispatchesOnExtension() throws {
        let dir = try TemporaryDirectory()
        let manifest = try PythonReference.run("data_fixtures.py", input: ["dir": dir.path])
        let files = try #require(manifest["files"] as? [String: [String: Any]])
        let npy = try FeatureMatrix.load(path: dir.file("f4_3d.npy"))
        #expect(npy.shape == [2, 12])
        #expect(npy.scalars == exactDoubles(files["f4_3d.npy"]?["values"]).map { Float($0) })
        let idx = try FeatureMatrix.load(path: dir.file("images-idx3-ubyte.gz"))
        #expect(idx.shape == [3, 20])
        #expect(idx.scalars == exactDoubles(files["images-idx3-ubyte.gz"]?["values"]).map { Float($0) })
        #expect(try FeatureMatrix.load(path: dir.file("plain-idx2-ubyte")).shape == [2, 3])
        #expect(try FeatureMatrix.loadLabels(path: dir.file("i8.npy")) == ints(files["i8.npy"]?["values"]))
        #expect(try FeatureMatrix.loadLabels(path: dir.file("labels-idx1-ubyte.gz")) == ints(files["labels-idx1-ubyte.gz"]?["values"]))
        #expect(throws: BihashError.self) { try FeatureMatrix.loadLabels(path: dir.file("u1.npy")) }  // [7, 2]
        #expect(throws: BihashError.self) { try FeatureMatrix.loadLabels(path: dir.file("f4_1d.npy")) }
        do {
            _ = try FeatureMatrix.load(path: dir.file("features.csv"))
            Issue.record("accepted an unknown extension")
        } catch let error as BihashError {
            #expect(error.message.contains(".npy"))
        }
        do {
            _ = try FeatureMatrix.load(path: dir.file("f4_empty.npy"))
            Issue.record("accepted an empty matrix")
        } catch let error as BihashError {
            #expect(error.message.contains("empty"))
        }
    }

    @Test func rejectsNonFiniteFeatures() throws {
        let dir = try TemporaryDirectory()
        var x = Tensor<Float>(zeros: [4, 3])
        x[2, 1] = .nan
        x[3, 0] = .infinity
        try NPY.write(x, to: dir.file("nan.npy"))
        do {
            _ = try FeatureMatrix.load(path: dir.file("nan.npy"))
            Issue.record("accepted NaN features")
        } catch let error as BihashError {
            guard case .numerical(let m) = error else { Issue.record("wrong error \(error)"); return }
            #expect(m.contains("row 2, column 1"))
            #expect(m.contains(dir.file("nan.npy")))
        }
        #expect(throws: BihashError.numerical("x: features must be finite; found inf at row 3, column 0")) {
            var y = x
            y[2, 1] = 0
            try DataValidation.requireFeatures(y, name: "x")
        }
    }

    @Test func retrievalDatasetValidates() throws {
        let x = try Tensor<Float>(shape: [2, 2], scalars: [0, 1, 2, 3])
        let ok = try RetrievalDataset(name: "t", trainFeatures: x, trainLabels: [0, 1], queryFeatures: x,
                                      queryLabels: [1, 0], databaseFeatures: x, databaseLabels: [0, 0])
        #expect(ok.featureDimension == 2)
        #expect(throws: BihashError.self) {
            try RetrievalDataset(name: "t", trainFeatures: x, trainLabels: [0], queryFeatures: x,
                                 queryLabels: [1, 0], databaseFeatures: x, databaseLabels: [0, 0])
        }
        #expect(throws: BihashError.self) {
            try RetrievalDataset(name: "t", trainFeatures: x, trainLabels: [0, 1], queryFeatures: Tensor<Float>(zeros: [0, 2]),
                                 queryLabels: [], databaseFeatures: x, databaseLabels: [0, 0])
        }
        #expect(throws: BihashError.self) {
            try RetrievalDataset(name: "t", trainFeatures: x, trainLabels: [0, 1], queryFeatures: Tensor<Float>(zeros: [1, 3]),
                                 queryLabels: [1], databaseFeatures: x, databaseLabels: [0, 0])
        }
    }

    @Test func protocolRegistryErrors() throws {
        do {
            _ = try Protocols.load(name: "cifar-10")
            Issue.record("accepted an unknown protocol")
        } catch let error as BihashError {
            #expect(error == .invalidArgument("unknown evaluation protocol 'cifar-10'; known protocols: fashion-mnist, fashion-mnist-20k"))
        }
        let dir = try TemporaryDirectory()
        do {
            _ = try FashionMNIST.load(directory: dir.path)
            Issue.record("loaded Fashion-MNIST from an empty directory")
        } catch let error as BihashError {
            guard case .io(let m) = error else { Issue.record("wrong error \(error)"); return }
            #expect(m.contains("install with: apt-get install dataset-fashion-mnist"))
            #expect(m.contains(dir.path))
        }
    }

    @Test func fashionMNISTRejectsWrongShapes() throws {
        // Files of the right names but the wrong sizes (the fixture's small images) are rejected with the path.
        let dir = try TemporaryDirectory()
        _ = try PythonReference.run("data_fixtures.py", input: ["dir": dir.path])
        for (src, dst) in [("images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"), ("labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz")] {
            try FileManager.default.copyItem(atPath: dir.file(src), toPath: dir.file(dst))
        }
        do {
            _ = try FashionMNIST.loadSplit(train: false, directory: dir.path)
            Issue.record("accepted a 3-image file as Fashion-MNIST")
        } catch let error as BihashError {
            #expect(error.message.contains("[10000, 28, 28]"))
            #expect(error.message.contains(dir.file("t10k-images-idx3-ubyte.gz")))
        }
    }

    @Test func binarizeMatchesReference() throws {
        // Rows with exact .5 ties (round half to even), a constant row, and random rows.
        var rows: [[Int]] = [[0, 127, 254, 3, 200, 201], [5, 5, 5, 5, 5, 5], [10, 255, 132, 133, 0, 1], [1, 3, 2, 2, 2, 3]]
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<12 { rows.append((0..<6).map { _ in Int(rng.next() % 256) }) }
        let answer = try PythonReference.run("data_binarize.py", input: ["rows": rows])
        let expected = try #require(answer["binary"] as? [Any])
        let x = try Tensor<Float>(shape: [rows.count, 6], scalars: rows.flatMap { $0.map { Float($0) / 255 } })
        let b = x.minMaxBinarizedRows()
        for i in 0..<rows.count {
            let got = b.row(i).map { Int($0) }
            if let e = expected[i] as? [Any] {
                #expect(got == ints(e), "row \(i): \(rows[i])")
            } else {
                #expect(got == [Int](repeating: 0, count: 6), "constant row \(i) maps to zeros")
            }
        }
    }

    static let fashionMNISTInstalled = FashionMNIST.isInstalled

    @Test(.enabled(if: fashionMNISTInstalled, "needs `apt-get install dataset-fashion-mnist`"))
    func loadsRealFashionMNIST() throws {
        let data = try Protocols.load(name: "fashion-mnist")
        #expect(data.name == "fashion-mnist")
        #expect(data.trainFeatures.shape == [60000, 784])
        #expect(data.databaseFeatures.shape == [60000, 784])
        #expect(data.queryFeatures.shape == [10000, 784])
        #expect(data.trainLabels.count == 60000 && data.queryLabels.count == 10000)
        #expect(data.databaseLabels == data.trainLabels)
        #expect(data.trainLabels.allSatisfy { (0...9).contains($0) })
        #expect(data.queryLabels.allSatisfy { (0...9).contains($0) })
        #expect(data.trainFeatures.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })

        let reference = try PythonReference.run("data_fashion_mnist.py", input: ["dir": FashionMNIST.directory, "binarize_rows": [0, 1, 9999]])
        let train = try #require(reference["train"] as? [String: Any])
        let test = try #require(reference["t10k"] as? [String: Any])
        #expect(Array(data.trainLabels.prefix(20)) == ints(train["first_labels"]))
        #expect(Array(data.queryLabels.prefix(20)) == ints(test["first_labels"]))
        #expect(data.trainLabels[0] == 9 && data.queryLabels[0] == 9)
        #expect((0..<10).map { c in data.trainLabels.filter { $0 == c }.count } == ints(train["label_counts"]))
        #expect((0..<10).map { c in data.queryLabels.filter { $0 == c }.count } == ints(test["label_counts"]))
        let trainSums = try #require(train["pixel_sums"] as? [String: Any])
        let testSums = try #require(test["pixel_sums"] as? [String: Any])
        func pixelSum(_ x: Tensor<Float>, _ i: Int) -> Int { x.row(i).reduce(0) { $0 + Int(($1 * 255).rounded()) } }
        for (key, value) in trainSums { #expect(pixelSum(data.trainFeatures, Int(key)!) == (value as? NSNumber)?.intValue) }
        for (key, value) in testSums { #expect(pixelSum(data.queryFeatures, Int(key)!) == (value as? NSNumber)?.intValue) }

        let binarized = try #require(reference["binarized"] as? [String: Any])
        let rows = [0, 1, 9999]
        let b = data.queryFeatures.gatherRows(rows).minMaxBinarizedRows()
        for (r, i) in rows.enumerated() {
            #expect(b.row(r).map { Int($0) } == ints(binarized[String(i)]), "test image \(i)")
        }
    }
}
