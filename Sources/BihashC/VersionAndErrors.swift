// Versions, status strings, the last error and bihash_free.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CBihashABI

/// BIHASH_VERSION_NUMBER of this library (the header's macros, so they cannot drift apart).
@_cdecl("bihash_version_number")
public func bihashV1_version_number() -> Int32 {
    Int32(BIHASH_VERSION_MAJOR * 10000 + BIHASH_VERSION_MINOR * 100 + BIHASH_VERSION_PATCH)
}

/// "MAJOR.MINOR.PATCH"; checked against the macros by `versionStringMatchesHeader`.
@_cdecl("bihash_version_string")
public func bihashV1_version_string() -> UnsafePointer<CChar>? {
    staticCString("0.1.0")
}

/// Whether the static version string spells the header's macros (checked by the C tests).
var versionStringMatchesHeader: Bool {
    String(cString: staticCString("0.1.0")) == "\(BIHASH_VERSION_MAJOR).\(BIHASH_VERSION_MINOR).\(BIHASH_VERSION_PATCH)"
}

/// BIHASH_ABI_VERSION of this library.
@_cdecl("bihash_abi_version")
public func bihashV1_abi_version() -> Int32 {
    Int32(BIHASH_ABI_VERSION)
}

/// The constant name of a status code.
@_cdecl("bihash_status_string")
public func bihashV1_status_string(_ status: Int32) -> UnsafePointer<CChar>? {
    switch status {
    case Status.ok: return staticCString("BIHASH_OK")
    case Status.invalidArgument: return staticCString("BIHASH_ERR_INVALID_ARGUMENT")
    case Status.invalidFormat: return staticCString("BIHASH_ERR_INVALID_FORMAT")
    case Status.io: return staticCString("BIHASH_ERR_IO")
    case Status.numerical: return staticCString("BIHASH_ERR_NUMERICAL")
    case Status.invalidState: return staticCString("BIHASH_ERR_INVALID_STATE")
    case Status.limit: return staticCString("BIHASH_ERR_LIMIT")
    case Status.cancelled: return staticCString("BIHASH_ERR_CANCELLED")
    case Status.notSupported: return staticCString("BIHASH_ERR_NOT_SUPPORTED")
    case Status.bufferTooSmall: return staticCString("BIHASH_ERR_BUFFER_TOO_SMALL")
    case Status.internal: return staticCString("BIHASH_ERR_INTERNAL")
    default: return staticCString("unknown status")
    }
}

/// This thread's last error message ("" when no call failed yet).
@_cdecl("bihash_last_error")
public func bihashV1_last_error() -> UnsafePointer<CChar>? {
    lastErrorPointer() ?? staticCString("")
}

/// Frees a buffer allocated by the library with `malloc` (NULL accepted).
@_cdecl("bihash_free")
public func bihashV1_free(_ buffer: UnsafeMutableRawPointer?) {
    free(buffer)
}
