import Foundation

/// A fresh temporary directory per test, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "bihash-data-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Reads a JSON number array as [Int].
func ints(_ value: Any?) -> [Int] {
    (value as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } ?? []
}

/// Reads a JSON array of numbers or exact `float.hex()` strings (JSONSerialization rounds some decimal doubles by
/// an ulp on Linux, so the fixture scripts send floats in hex).
func exactDoubles(_ value: Any?) -> [Double] {
    (value as? [Any])?.compactMap { item -> Double? in
        if let s = item as? String { return Double(s) }
        return (item as? NSNumber)?.doubleValue
    } ?? []
}
