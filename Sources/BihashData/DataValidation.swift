import BihashCore

/// Checks shared by every reader and protocol: data sets are non-empty, features finite, labels one per row.
public enum DataValidation {
    /// Throws unless `features` is a non-empty [N, D] matrix (N ≥ 1, D ≥ 1) of finite values.
    /// - Parameters:
    ///   - features: the matrix to check.
    ///   - name: what the matrix is (a path or "query features"), used in the message.
    /// - Throws: `BihashError.invalidArgument` for a wrong rank or an empty matrix; `BihashError.numerical` naming the
    ///   first non-finite element's row and column.
    public static func requireFeatures(_ features: Tensor<Float>, name: String) throws {
        try require(features.rank == 2, "\(name): expected a [N, D] feature matrix, got shape \(features.shape)")
        try requireNonEmpty(rows: features.rows, name: name)
        try require(features.cols >= 1, "\(name): feature dimension D must be ≥ 1, got shape \(features.shape)")
        try requireFinite(features, name: name)
    }

    /// Throws `BihashError.numerical` naming the first NaN or infinite element (row, column and value).
    public static func requireFinite(_ features: Tensor<Float>, name: String) throws {
        let cols = Swift.max(features.cols, 1)
        let bad: Int? = features.scalars.withUnsafeBufferPointer { p in
            for i in 0..<p.count where !p[i].isFinite { return i }
            return nil
        }
        if let i = bad {
            throw BihashError.numerical(
                "\(name): features must be finite; found \(features.scalars[i]) at row \(i / cols), column \(i % cols)")
        }
    }

    /// Throws `BihashError.invalidArgument` if `rows` is 0 ("empty data set").
    public static func requireNonEmpty(rows: Int, name: String) throws {
        try require(rows > 0, "\(name): the data set is empty (0 rows)")
    }

    /// Throws `BihashError.invalidArgument` unless there is exactly one label per feature row.
    public static func requireLabels(_ labels: [Int], rows: Int, name: String) throws {
        try require(labels.count == rows, "\(name): expected one label per row (\(rows)), got \(labels.count) labels")
    }
}
