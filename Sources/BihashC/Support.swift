// Shared machinery of the C ABI thunks: status codes, the thread-local last error, handle boxes and the
// validation of caller pointers and sizes. Nothing here is exported; only the `@_cdecl("bihash_…")` thunks are.
//
// Every thunk follows one pattern (STYLE.md §13, faiss `CATCH_AND_HANDLE`):
//   1. validate every pointer and size (overflow-checked) before touching caller memory;
//   2. run the Swift code inside `guarded`, which catches every thrown error and maps it to a status;
//   3. write out-parameters only on success (handles) or clear them on failure (buffers).
// No `!`, `precondition` or unchecked index depends on caller input.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CBihashABI
import BihashCore

// MARK: - Status codes

/// The `bihash_status` values as `Int32` (the thunks return C `int`).
enum Status {
    static let ok = Int32(BIHASH_OK.rawValue)
    static let invalidArgument = Int32(BIHASH_ERR_INVALID_ARGUMENT.rawValue)
    static let invalidFormat = Int32(BIHASH_ERR_INVALID_FORMAT.rawValue)
    static let io = Int32(BIHASH_ERR_IO.rawValue)
    static let numerical = Int32(BIHASH_ERR_NUMERICAL.rawValue)
    static let invalidState = Int32(BIHASH_ERR_INVALID_STATE.rawValue)
    static let limit = Int32(BIHASH_ERR_LIMIT.rawValue)
    static let cancelled = Int32(BIHASH_ERR_CANCELLED.rawValue)
    static let notSupported = Int32(BIHASH_ERR_NOT_SUPPORTED.rawValue)
    static let bufferTooSmall = Int32(BIHASH_ERR_BUFFER_TOO_SMALL.rawValue)
    static let `internal` = Int32(BIHASH_ERR_INTERNAL.rawValue)

    /// The status of a `BihashError` case.
    static func of(_ error: BihashError) -> Int32 {
        switch error {
        case .invalidArgument: return invalidArgument
        case .invalidFormat: return invalidFormat
        case .io: return io
        case .numerical: return numerical
        case .invalidState: return invalidState
        case .limitExceeded: return limit
        case .cancelled: return cancelled
        }
    }
}

/// An error raised by the ABI layer itself, with its status (used for the codes `BihashError` has no case for).
struct ABIError: Error {
    let status: Int32
    let message: String

    static func invalidArgument(_ m: String) -> ABIError { ABIError(status: Status.invalidArgument, message: m) }
    static func bufferTooSmall(_ m: String) -> ABIError { ABIError(status: Status.bufferTooSmall, message: m) }
    static func notSupported(_ m: String) -> ABIError { ABIError(status: Status.notSupported, message: m) }
    static func invalidState(_ m: String) -> ABIError { ABIError(status: Status.invalidState, message: m) }
}

// MARK: - Thread-local last error

/// One `malloc`ed C string per thread, freed when the thread exits or its next failure replaces it.
private let lastErrorKey: pthread_key_t = {
    var key = pthread_key_t()
    _ = pthread_key_create(&key) { pointer in free(pointer) }
    return key
}()

/// Records `message` as this thread's last error (the previous message is freed).
func setLastError(_ message: String) {
    let old = pthread_getspecific(lastErrorKey)
    let copy = strdup(message)
    _ = pthread_setspecific(lastErrorKey, copy)
    free(old)
}

/// This thread's last error message, or nil when no call failed yet.
func lastErrorPointer() -> UnsafePointer<CChar>? {
    guard let p = pthread_getspecific(lastErrorKey) else { return nil }
    return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
}

/// A C string with static storage duration (string literals live in the binary's constant data).
func staticCString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

// MARK: - Running a thunk

/// Runs `body`, mapping every thrown error to a status and this thread's last error ("<function>: <message>").
@inline(__always)
func guarded(_ function: StaticString, _ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return Status.ok
    } catch let e as ABIError {
        setLastError("\(function): \(e.message)")
        return e.status
    } catch let e as BihashError {
        setLastError("\(function): \(e.message)")
        return Status.of(e)
    } catch {
        setLastError("\(function): internal error: \(error)")
        return Status.internal
    }
}

// MARK: - Handles

/// Base class of every object handed to C; lets a thunk check that a handle is of the expected kind.
class Handle {
    /// The C type name, for messages.
    class var typeName: String { "bihash object" }
}

/// Hands `object` to C with a +1 reference (released by the matching `_free`).
func retainedHandle(_ object: Handle) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(object).toOpaque())
}

/// The object behind a handle, or `ABIError.invalidArgument` for NULL or a handle of another kind.
func object<T: Handle>(_ pointer: OpaquePointer?, _ parameter: String, as type: T.Type = T.self) throws -> T {
    guard let pointer else { throw ABIError.invalidArgument("\(parameter) is NULL") }
    let any = Unmanaged<Handle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    guard let typed = any as? T else {
        throw ABIError.invalidArgument("\(parameter) is a \(Swift.type(of: any).typeName), not a \(T.typeName)")
    }
    return typed
}

/// The object behind a handle for the non-throwing getters; nil for NULL or a handle of another kind.
func optionalObject<T: Handle>(_ pointer: OpaquePointer?, as type: T.Type = T.self) -> T? {
    guard let pointer else { return nil }
    return Unmanaged<Handle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue() as? T
}

/// Releases the reference handed out by `retainedHandle` (NULL is a no-op).
func releaseHandle(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Unmanaged<Handle>.fromOpaque(UnsafeRawPointer(pointer)).release()
}

// MARK: - Validation of caller input

/// `pointer` unless it is NULL.
func nonNull<P>(_ pointer: P?, _ parameter: String) throws -> P {
    guard let pointer else { throw ABIError.invalidArgument("\(parameter) is NULL") }
    return pointer
}

/// a · b, or `ABIError.invalidArgument` naming `what` when it overflows (or exceeds `Int.max / 2`, a bound that
/// keeps every later byte-offset computation in range).
func product(_ a: Int, _ b: Int, _ what: String) throws -> Int {
    let (p, overflow) = a.multipliedReportingOverflow(by: b)
    guard a >= 0, b >= 0, !overflow, p <= Int.max / 2 else {
        throw ABIError.invalidArgument("\(what): \(UInt(bitPattern: a)) × \(UInt(bitPattern: b)) overflows")
    }
    return p
}

/// A Swift string from a caller's NUL-terminated UTF-8 string (invalid UTF-8 is repaired).
func string(_ pointer: UnsafePointer<CChar>?, _ parameter: String) throws -> String {
    String(cString: try nonNull(pointer, parameter))
}

/// Checks `bits` against 1...BIHASH_MAX_BITS.
func validBits(_ bits: Int32, _ parameter: String = "bits") throws -> Int {
    guard bits >= 1, Int(bits) <= PackedCodes.maxBits else {
        throw ABIError.invalidArgument("\(parameter) must be in 1...\(PackedCodes.maxBits), got \(bits)")
    }
    return Int(bits)
}

/// Copies `n` packed `bits`-bit codes from caller memory (NULL allowed only when n = 0); padding bits must be zero.
func packedCodes(_ pointer: UnsafePointer<UInt8>?, count n: Int, bits: Int, _ parameter: String) throws -> PackedCodes {
    let bytes = try product(n, (bits + 7) / 8, "\(parameter): \(n) codes of \(bits) bits")
    if bytes == 0 { return try PackedCodes(bits: bits) }
    let p = try nonNull(pointer, parameter)
    do {
        return try PackedCodes(bits: bits, count: n, bytes: Array(UnsafeBufferPointer(start: p, count: bytes)))
    } catch BihashError.invalidFormat(let m) {
        throw ABIError.invalidArgument("\(parameter): \(m)")
    }
}

/// Copies a NUL-terminated `text` into `buffer` (capacity `size`), truncating; reports the full length.
func copyString(_ text: String, to buffer: UnsafeMutablePointer<CChar>?, size: Int, needed: UnsafeMutablePointer<Int>?) throws {
    let utf8 = Array(text.utf8)
    needed?.pointee = utf8.count
    guard size >= 0 else { throw ABIError.invalidArgument("buf_size overflows") }
    if size > 0 {
        let buffer = try nonNull(buffer, "buf")
        let n = Swift.min(utf8.count, size - 1)
        for i in 0..<n { buffer[i] = CChar(bitPattern: utf8[i]) }
        buffer[n] = 0
    }
    if utf8.count + 1 > size {
        throw ABIError.bufferTooSmall("the string needs \(utf8.count + 1) bytes with its NUL, buf_size is \(size)")
    }
}

/// A simple mutex around a heap-allocated `pthread_mutex_t` (its address must not move).
final class Mutex {
    private let m: UnsafeMutablePointer<pthread_mutex_t>
    init() {
        m = .allocate(capacity: 1)
        m.initialize(to: pthread_mutex_t())
        pthread_mutex_init(m, nil)
    }
    deinit {
        pthread_mutex_destroy(m)
        m.deinitialize(count: 1)
        m.deallocate()
    }
    func locked<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(m)
        defer { pthread_mutex_unlock(m) }
        return try body()
    }
}

/// A readers–writer lock around a heap-allocated `pthread_rwlock_t`, preferring writers.
final class ReadWriteLock {
    private let l: UnsafeMutablePointer<pthread_rwlock_t>
    init() {
        l = .allocate(capacity: 1)
        l.initialize(to: pthread_rwlock_t())
        #if os(Linux)
        // glibc's default prefers readers, which starves a writer while searches overlap; prefer writers (no
        // reader here ever takes the lock recursively, which this kind would deadlock).
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(l, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        #else
        pthread_rwlock_init(l, nil)
        #endif
    }
    deinit {
        pthread_rwlock_destroy(l)
        l.deinitialize(count: 1)
        l.deallocate()
    }
    func reading<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(l)
        defer { pthread_rwlock_unlock(l) }
        return try body()
    }
    func writing<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(l)
        defer { pthread_rwlock_unlock(l) }
        return try body()
    }
}

/// An owned, fixed-address copy of `values` (for pointers handed to C that must stay valid until a `_free`).
final class StableBuffer<Element> {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int
    init(_ values: [Element]) {
        count = values.count
        pointer = .allocate(capacity: Swift.max(1, values.count))
        _ = UnsafeMutableBufferPointer(start: pointer, count: values.count).initialize(from: values)
    }
    deinit {
        pointer.deinitialize(count: count)
        pointer.deallocate()
    }
}

/// Owned, fixed-address NUL-terminated copies of `strings`.
final class StableStrings {
    let pointers: [UnsafeMutablePointer<CChar>?]
    init(_ strings: [String]) { pointers = strings.map { strdup($0) } }
    deinit { for p in pointers { free(p) } }
}
