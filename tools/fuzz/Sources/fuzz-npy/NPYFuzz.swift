// Fuzz target: the NPY reader, NPY.decode (memory) and, through a tmpfs file, NPY.read, FeatureMatrix.load
// (NPY → float matrix → validation) and FeatureMatrix.loadLabels; every accessor of a decoded array runs.
import BihashCore
import BihashData
import FuzzSupport

let scratch = ScratchFile(name: "input.npy")

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    Seeds.writeIfRequested { write in
        // Every dtype, ranks 0 to 3, little- and big-endian; the writer's own bytes.
        for (i, type) in NPYDataType.allCases.enumerated() {
            for shape in [[3, 2], [4], [], [2, 1, 2], [0, 5]] {
                let n = shape.reduce(1, *)
                let payload = (0..<(n * type.byteWidth)).map { UInt8(truncatingIfNeeded: $0 * 37 + i) }
                let a = try NPYArray(dataType: type, shape: shape, payload: payload)
                write("npy-\(type.rawValue)-\(shape.map(String.init).joined(separator: "x"))", NPY.encode(a))
            }
        }
        // Big-endian and version-2 variants, written by hand.
        let be = Array("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }".utf8)
        var v1: [UInt8] = NPY.magic + [1, 0, UInt8(be.count + 1), 0] + be + [0x0A]
        v1 += (0..<16).map { UInt8($0) }
        write("npy-bigendian", v1)
        var v2: [UInt8] = NPY.magic + [2, 0, UInt8(be.count + 1), 0, 0, 0] + be + [0x0A]
        v2 += (0..<16).map { UInt8($0) }
        write("npy-v2", v2)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    if let a = try? NPY.decode(input) {
        _ = a.floatTensor()
        _ = try? a.floatMatrix()
        _ = try? a.intValues()
        _ = try? a.uint8Values()
        _ = NPY.encode(a)
    }
    scratch.write(input)
    _ = try? NPY.read(path: scratch.path)
    _ = try? FeatureMatrix.load(path: scratch.path)
    _ = try? FeatureMatrix.loadLabels(path: scratch.path)
    return 0
}

/// The entry point SwiftPM links as `main`: libFuzzer's driver, fuzzing `fuzzOneInput`.
@_cdecl("fuzz_npy_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { fuzzOneInput($0, $1) }
}
