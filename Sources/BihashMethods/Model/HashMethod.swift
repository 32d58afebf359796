import BihashCore

/// The hashing methods bihash trains. Raw values are the names used by the CLI, the C ABI and model files.
public enum HashMethod: String, CaseIterable, Sendable, Codable {
    /// Bi-half layer (Li & van Gemert, AAAI 2021): every bit splits each batch half/half.
    case bihalf
    /// Sign with a straight-through estimator and the γ-pull of bi-half's backward (γ = 0.2).
    case sign
    /// Sign (γ = 0.2) plus the bit-balance regulariser (weight 1).
    case signreg
    /// GreedyHash: sign with a pure straight-through estimator and a cubic quantisation penalty.
    case greedyhash
    /// Locality-sensitive hashing: a random Gaussian projection of the centred features.
    case lsh
    /// Iterative quantisation: PCA to K dimensions and an orthogonal rotation (Gong & Lazebnik 2011).
    case itq
    /// Similarity distribution calibration (Ng et al., BMVC 2023): an MLP head whose pair similarities are matched
    /// to a Beta distribution's quantiles in feature-similarity order.
    case sdc
    /// Semantic hash centres (Chen et al., ACM MM 2024), the only supervised method: a classifier's confusions give
    /// a class-similarity matrix, hash centres ≥ d bits apart are arranged to match it, and a Linear head is trained
    /// toward each sample's class centre. Needs class labels.
    case shc

    /// Whether the method is trained by gradient descent (false: fitted in closed form).
    public var isDeep: Bool {
        switch self {
        case .bihalf, .sign, .signreg, .greedyhash, .sdc, .shc: return true
        case .lsh, .itq: return false
        }
    }

    /// Whether the method trains on class labels (which are then required).
    public var isSupervised: Bool { self == .shc }

    /// Parses a method name, with a clear error listing the valid ones.
    public init(name: String) throws {
        guard let m = HashMethod(rawValue: name.lowercased()) else {
            throw BihashError.invalidArgument(
                "unknown method '\(name)'; expected one of: \(HashMethod.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = m
    }
}
