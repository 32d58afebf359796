import BihashCore

/// Per-row preprocessing applied to every input before the encoder, at training and at inference alike.
/// It is part of the model (stored in its metadata) so that exported models reproduce the codes.
public enum InputPreprocessing: String, Sendable, Codable {
    /// Features are used as given.
    case none
    /// The autoencoder recipe's input binarisation (ALGORITHMS.md §1.4a): each row is min-max normalised
    /// to [0, 1], then rounded to {0, 1}; see `Tensor.minMaxBinarizedRows()`.
    case minMaxRound = "minmax-round"

    /// Applies the preprocessing to a batch x: [N, D].
    public func apply(_ x: Tensor<Float>) -> Tensor<Float> {
        switch self {
        case .none:
            return x
        case .minMaxRound:
            return x.minMaxBinarizedRows()
        }
    }
}
