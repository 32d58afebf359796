import Foundation
import Testing
import BihashCore
import BihashNN
import BihashMethods
import _BihashTestSupport
@testable import BihashIO

/// ONNX export: every model kind runs in onnxruntime and gives bihash's codes byte for byte (a bit may differ
/// only where bihash's pre-sign value is within 1e-5 of 0), and passes `onnx.checker.check_model(full_check=True)`.
@Suite struct ONNXExportTests {
    @Test func everyModelKindReproducesBihashCodesInOnnxruntime() throws {
        let data = try IOFixtures.data()
        let cases = try IOFixtures.models()
        let dir = try IOFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let featuresPath = dir + "/features.f32"
        try IOFixtures.writeFloats(data.eval, to: featuresPath)
        var requests: [[String: Any]] = []
        var expected: [(codes: PackedCodes, u: Tensor<Float>)] = []
        for (i, c) in cases.enumerated() {
            let path = "\(dir)/m\(i).onnx", presign = "\(dir)/m\(i).u.f32"
            try ONNXExport.export(c.model, to: path, includePresign: true)
            let u = try c.model.project(data.eval)
            try IOFixtures.writeFloats(u, to: presign)
            expected.append((try c.model.encode(data.eval), u))
            requests.append(["path": path, "presign": presign])
        }
        // Without the optional output too.
        let plainPath = dir + "/plain.onnx"
        try ONNXExport.export(cases[0].model, to: plainPath)
        requests.append(["path": plainPath])
        expected.append(expected[0])

        let out = try PythonReference.run("io_onnx_check.py", input: [
            "models": requests, "features": featuresPath, "rows": data.eval.rows, "cols": data.eval.cols,
        ])
        let results = out["results"] as? [[String: Any]] ?? []
        try #require(results.count == requests.count)
        print("ONNX check on \(data.eval.rows) rows of \(data.source), onnx \(out["onnx_version"] ?? "?"), onnxruntime \(out["onnxruntime_version"] ?? "?")")
        for (i, r) in results.enumerated() {
            let label = i < cases.count ? cases[i].label : "\(cases[0].label) without presign"
            let (codes, u) = expected[i]
            let onnxCodes = IOFixtures.bytes(hex: r["codes"] as? String ?? "")
            #expect(r["codes_dtype"] as? String == "uint8", "\(label)")
            #expect(r["codes_shape"] as? [Int] == [codes.count, codes.bytesPerCode], "\(label)")
            let cmp = IOFixtures.compare(onnxCodes, with: codes, presign: u)
            let diff = r["presign_max_abs_diff"] as? Double
            print("ONNX \(label): \(cmp.differing) differing bits (\(cmp.nearZero) with |U| ≤ 1e-5; \(cmp.ambiguous) bits have |U| ≤ 1e-5), max |presign − U| = \(diff.map { String($0) } ?? "n/a")")
            #expect(cmp.differing == cmp.nearZero, "\(label): \(cmp.differing - cmp.nearZero) bits differ with |U| > 1e-5")
            if i < cases.count {
                let scale = Double(u.scalars.map { abs($0) }.max() ?? 1)
                #expect(diff != nil && diff! <= 1e-5 * max(1, scale), "\(label): presign differs by \(diff ?? .nan)")
                #expect((r["outputs"] as? [[Any]])?.map { $0[0] as? String } == ["presign", "codes"], "\(label)")
            } else {
                #expect((r["outputs"] as? [[Any]])?.map { $0[0] as? String } == ["codes"])
            }
            #expect(r["ir_version"] as? Int == ONNXExport.irVersion, "\(label)")
            #expect((r["opset"] as? [[Any]])?.first?[1] as? Int == ONNXExport.opsetVersion, "\(label)")
            let inputs = r["inputs"] as? [[Any]] ?? []
            #expect(inputs.count == 1 && inputs.first?[0] as? String == "features", "\(label)")
            #expect((inputs.first?[1] as? [Any])?.first as? String == "batch", "\(label): batch dimension is not symbolic")
            #expect(r["small_batch_consistent"] as? Bool == true, "\(label)")
            #expect(r["empty_batch_ok"] as? Bool == true, "\(label)")
        }
    }

    /// Preprocessing edge cases: constant rows (→ all 0), exact halves (round half to even), negative values.
    @Test func minMaxRoundMatchesBihashOnEdgeCases() throws {
        let ae = try #require(IOFixtures.models().first { $0.label == "bihalf autoencoder K=12" }).model
        var rows: [[Float]] = []
        rows.append([Float](repeating: 0.3, count: 784))                                    // constant row
        rows.append((0..<784).map { Float($0 % 3) })                                         // 0, 0.5, 1 → 0, 0, 1
        rows.append((0..<784).map { Float($0 % 5) * -1.5 + 2 })                              // negatives
        rows.append((0..<784).map { $0 == 7 ? 1e30 : Float($0) * 1e-3 })                     // one huge value
        rows.append((0..<784).map { Float(($0 * 7919) % 784) / 783 })
        let x = try Tensor(rows: rows)
        let dir = try IOFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try IOFixtures.writeFloats(x, to: dir + "/x.f32")
        try IOFixtures.writeFloats(try ae.project(x), to: dir + "/u.f32")
        try ONNXExport.export(ae, to: dir + "/ae.onnx", includePresign: true)
        let out = try PythonReference.run("io_onnx_check.py", input: [
            "models": [["path": dir + "/ae.onnx", "presign": dir + "/u.f32"]], "features": dir + "/x.f32",
            "rows": x.rows, "cols": x.cols,
        ])
        let r = try #require((out["results"] as? [[String: Any]])?.first)
        let codes = try ae.encode(x)
        #expect(IOFixtures.bytes(hex: r["codes"] as? String ?? "") == codes.bytes)
        #expect((r["presign_max_abs_diff"] as? Double ?? 1) <= 1e-4)
    }

    @Test func exportWritesAtomicallyAndReportsErrors() throws {
        let model = try IOFixtures.sdcStyle(bits: 8, seed: 1)
        let dir = try IOFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ONNXExport.export(model, to: dir + "/a.onnx")
        try ONNXExport.export(model, to: dir + "/a.onnx", includePresign: true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["a.onnx"])
        #expect(throws: BihashError.self) { try ONNXExport.export(model, to: dir + "/missing/a.onnx") }
        // Deterministic: the same model gives the same bytes.
        #expect(try ONNXExport.serialize(model) == ONNXExport.serialize(model))

        // An identity encoder (D = K) exports too.
        let identity = try HashModel(method: .sign, bits: 16, inputDimension: 16, encoder: Sequential([ReLU<Float>()]))
        #expect(throws: Never.self) { try ONNXExport.serialize(identity, includePresign: true) }
    }

    /// libonnx's C++ exceptions (checker, strict shape inference, argument checks) come back as `BihashError`s.
    @Test func libonnxFailuresBecomeBihashErrors() throws {
        func failure(_ build: (ONNXGraphBuilder) throws -> Void) throws -> BihashError? {
            let g = try ONNXGraphBuilder(irVersion: ONNXExport.irVersion, opsetVersion: ONNXExport.opsetVersion, graphName: "t")
            do {
                try build(g)
                _ = try g.finish()
                return nil
            } catch let e as BihashError {
                return e
            }
        }
        // An operator the checker does not know.
        let unknownOp = try failure { g in
            try g.addValue(input: true, name: "x", type: .float, dims: [-1, 4])
            try g.node("NotAnOperator", "n", ["x"], ["y"])
            try g.addValue(input: false, name: "y", type: .float, dims: [-1, 4])
        }
        #expect(unknownOp.map { if case .invalidFormat(let m) = $0 { return m.contains("check_model") } else { return false } } == true,
                "\(String(describing: unknownOp))")
        // A declared output shape that contradicts the inferred one: strict shape inference fails.
        let badShape = try failure { g in
            try g.addValue(input: true, name: "x", type: .float, dims: [-1, 4])
            try g.constant("w", [Float](repeating: 0, count: 12), shape: [3, 4])
            try g.constant("b", [0, 0, 0], shape: [3])
            try g.node("Gemm", "n", ["x", "w", "b"], ["y"], ints: ["transB": 1])
            try g.addValue(input: false, name: "y", type: .float, dims: [-1, 5])
        }
        #expect(badShape.map { if case .invalidFormat(let m) = $0 { return m.contains("InferShapes") } else { return false } } == true,
                "\(String(describing: badShape))")
        // A declared output type that contradicts the graph.
        let badType = try failure { g in
            try g.addValue(input: true, name: "x", type: .float, dims: [-1, 4])
            try g.node("Relu", "n", ["x"], ["y"])
            try g.addValue(input: false, name: "y", type: .uint8, dims: [-1, 4])
        }
        #expect(badType != nil, "a uint8 output fed by a float Relu was accepted")
        // Bytes that do not match the initialiser's dimensions: caught by COnnx's argument checks.
        let badBytes = try failure { g in try g.constant("w", [1, 2, 3], shape: [2, 2]) }
        #expect(badBytes.map { if case .invalidArgument(let m) = $0 { return m.contains("do not match") } else { return false } } == true,
                "\(String(describing: badBytes))")
    }
}
