/// The one error type every bihash module throws.
///
/// Each case carries a message meant for a person: it names the input, what was expected and what was found.
/// The C ABI (issue 4) maps each case to a stable status code; keep the cases append-only.
public enum BihashError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A caller-supplied argument is outside its valid range (bits, batch size, shape mismatch, …).
    case invalidArgument(String)
    /// A file or buffer is malformed: bad magic, unsupported version, truncated, inconsistent sizes.
    case invalidFormat(String)
    /// Reading or writing a file failed at the operating-system level.
    case io(String)
    /// Numeric data is unusable (NaN or infinity in features, a singular matrix, a LAPACK failure).
    case numerical(String)
    /// An operation was called in the wrong state (backward before forward, encoding before training, …).
    case invalidState(String)
    /// A resource limit documented by bihash was exceeded (header too large, too many items, …).
    case limitExceeded(String)
    /// The user cancelled a long operation through a progress callback.
    case cancelled(String)

    public var message: String {
        switch self {
        case .invalidArgument(let m), .invalidFormat(let m), .io(let m), .numerical(let m),
             .invalidState(let m), .limitExceeded(let m), .cancelled(let m):
            return m
        }
    }

    public var description: String {
        switch self {
        case .invalidArgument(let m): return "invalid argument: \(m)"
        case .invalidFormat(let m): return "invalid format: \(m)"
        case .io(let m): return "I/O error: \(m)"
        case .numerical(let m): return "numerical error: \(m)"
        case .invalidState(let m): return "invalid state: \(m)"
        case .limitExceeded(let m): return "limit exceeded: \(m)"
        case .cancelled(let m): return "cancelled: \(m)"
        }
    }
}

/// Throws `BihashError.invalidArgument(message())` unless `condition` holds.
@inlinable
public func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw BihashError.invalidArgument(message()) }
}
