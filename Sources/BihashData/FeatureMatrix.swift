import BihashCore

/// Loads a feature matrix from a file, choosing the reader from the file name (for command-line tools).
///
/// - `.npy`: any supported NPY dtype, converted to Float, reshaped to [N, product of the other dimensions].
/// - `.idx`, `.gz`, or a name containing `-idx` (e.g. `train-images-idx3-ubyte`): IDX, plain or gzip; values are
///   converted to Float **without** scaling (use `FashionMNIST` for pixels scaled to [0, 1]).
///
/// The result is validated: non-empty and finite.
public enum FeatureMatrix {
    /// File extensions `load(path:)` understands.
    public static let supportedExtensions = [".npy", ".idx", ".gz", "-idx*-ubyte"]

    /// Reads the [N, D] Float matrix at `path`.
    /// - Throws: `BihashError.invalidArgument` for an unknown extension or an empty matrix, `BihashError.numerical`
    ///   for NaN/infinity, and the readers' errors (missing file, bad format).
    public static func load(path: String) throws -> Tensor<Float> {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let lower = name.lowercased()
        let matrix: Tensor<Float>
        if lower.hasSuffix(".npy") {
            matrix = try NPY.read(path: path).floatMatrix()
        } else if lower.hasSuffix(".idx") || lower.hasSuffix(".gz") || lower.contains("-idx") {
            matrix = try IDXReader.read(path: path).floatMatrix()
        } else {
            throw BihashError.invalidArgument(
                "'\(path)': unknown feature file type; expected one of \(supportedExtensions.joined(separator: ", "))")
        }
        try DataValidation.requireFeatures(matrix, name: "'\(path)'")
        return matrix
    }

    /// Reads integer labels from a `.npy` (integer dtype, 1-D or [N, 1]) or IDX file.
    /// - Throws: `BihashError.invalidFormat` for float or multi-column arrays, plus the readers' errors.
    public static func loadLabels(path: String) throws -> [Int] {
        let lower = path.lowercased()
        let (values, shape): ([Int], [Int])
        if lower.hasSuffix(".npy") {
            let a = try NPY.read(path: path)
            (values, shape) = (try a.intValues(), a.shape)
        } else {
            let a = try IDXReader.read(path: path)
            (values, shape) = (try a.intValues(), a.shape)
        }
        guard shape.count == 1 || (shape.count == 2 && shape[1] == 1) else {
            throw BihashError.invalidFormat("'\(path)': expected a label vector [N] or [N, 1], found shape \(shape)")
        }
        return values
    }
}
