import BihashCore
import Testing

/// Element-wise tensor operations and code distances throw `invalidArgument` with a message naming both
/// operands for inputs that do not fit together, instead of trapping.
@Suite struct MismatchedInputTests {
    static func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
        } catch BihashError.invalidArgument(let m) {
            return m
        } catch {
            Issue.record("not an invalidArgument: \(error)")
        }
        return nil
    }

    @Test func elementwiseOperationsNeedEqualShapes() throws {
        let a = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = try Tensor<Float>(shape: [3, 2], scalars: [1, 1, 1, 1, 1, 1])
        let c = try Tensor<Float>(shape: [2, 3], scalars: [1, 1, 1, 1, 1, 1])
        let cases: [(String, () throws -> Void)] = [
            ("zipMap", { _ = try a.zipMap(b, +) }),
            ("+", { _ = try a + b }),
            ("-", { _ = try a - b }),
            ("*", { _ = try a * b }),
            ("maxAbsDifference", { _ = try a.maxAbsDifference(b) }),
        ]
        for (operation, body) in cases {
            #expect(Self.message(body) == "element-wise \(operation) of tensors of shapes [2, 3] and [3, 2]: the shapes must be equal")
        }
        var d = a
        #expect(Self.message { try d.add(b, scaledBy: 2) }?.contains("add of tensors of shapes [2, 3] and [3, 2]") == true)
        #expect(d == a)  // unchanged
        // Equal shapes still work.
        #expect(try (a + c).scalars == [2, 3, 4, 5, 6, 7])
        #expect(try (a - c).scalars == [0, 1, 2, 3, 4, 5])
        #expect(try (a * c) == a)
        #expect(try a.zipMap(c, max).scalars == [1, 2, 3, 4, 5, 6])
        try d.add(c, scaledBy: 2)
        #expect(d.scalars == [3, 4, 5, 6, 7, 8])
        #expect(try d.maxAbsDifference(a) == 2)
        // Same count, other shape: still a mismatch.
        let flat = try Tensor<Float>(shape: [6], scalars: c.scalars)
        #expect(Self.message { _ = try a + flat }?.contains("[2, 3] and [6]") == true)
    }

    @Test func hammingDistanceNeedsEqualWidthsAndValidIndices() throws {
        let a = try PackedCodes(bits: 12, count: 2, bytes: [0xFF, 0xF0, 0x00, 0x00])
        let b = try PackedCodes(bits: 16, count: 1, bytes: [0xFF, 0xFF])
        #expect(try a.hammingDistance(code: 0, to: a, code: 1) == 12)
        #expect(try a.hammingDistance(code: 1, to: a, code: 1) == 0)
        #expect(Self.message { _ = try a.hammingDistance(code: 0, to: b, code: 0) }
            == "Hamming distance between codes of different widths: 12 and 16 bits")
        #expect(Self.message { _ = try a.hammingDistance(code: 2, to: a, code: 0) } == "code index 2 is outside 0..<2")
        #expect(Self.message { _ = try a.hammingDistance(code: 0, to: a, code: -1) }
            == "code index -1 of the other codes is outside 0..<2")
    }
}
