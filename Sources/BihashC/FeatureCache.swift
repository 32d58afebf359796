// Backbone features cached on disk between training runs.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BihashCore
import BihashData
import BihashIO
import BihashMethods

/// Backbone features of a training set, cached as `<directory>/<key>.npy` (float32 [N, 1280], written
/// atomically), so that training several heads on the same images runs the backbone once.
///
/// The key is the SHA-256 of the backbone (name, image size, every weight tensor), the input's image shape and
/// the input rows' bytes: any change to the images, their conversion or the backbone gives another file. A file
/// whose shape does not match is ignored and rewritten.
struct FeatureCache {
    let directory: String

    /// The cache file for `rows` (image rows of shape `image`) under `backbone`.
    func path(rows: Tensor<Float>, image: ImageInput, backbone: ImageBackbone) -> String {
        var h = SHA256()
        h.update("bihash-backbone-features-v1\n\(backbone.name)\n\(backbone.imageSize)\n\(image.width)x\(image.height)x\(image.channels)\n\(rows.rows)x\(rows.cols)\n")
        for name in backbone.weights.keys.sorted() {
            let t = backbone.weights[name]!
            h.update("\(name)\n\(t.shape)\n")
            t.scalars.withUnsafeBytes { h.update($0) }
        }
        rows.scalars.withUnsafeBytes { h.update($0) }
        let key = h.finalize().prefix(16).map { String($0, radix: 16).leftPadded(2) }.joined()
        return (directory.hasSuffix("/") ? directory : directory + "/") + "\(backbone.name)-\(backbone.imageSize)-\(key).npy"
    }

    /// The cached features, or nil when there is no usable file.
    func load(_ path: String, rows: Int, dimension: Int) -> Tensor<Float>? {
        guard access(path, R_OK) == 0, let array = try? NPY.read(path: path),
              array.shape == [rows, dimension], let x = try? array.floatMatrix() else { return nil }
        return x
    }

    /// Stores `features` at `path`, creating the directory if needed.
    func store(_ features: Tensor<Float>, at path: String) throws {
        if access(directory, F_OK) != 0 && mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw BihashError.io("cannot create the feature cache directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        try NPY.write(features, to: path)
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
