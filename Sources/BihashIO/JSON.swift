import BihashCore

/// A parsed JSON value. Numbers keep their literal text so that integers of any size are read exactly
/// (`Foundation.JSONSerialization` goes through `Double` and cannot be trusted with 64-bit offsets).
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    /// The literal text of a number, as it appears in the document (already checked against the JSON grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; keys are unique (the parser rejects duplicates).
    case object([(key: String, value: JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// A short name of the value's kind for error messages ("a string", "an array"…).
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The value of `key` if this is an object that has it.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.key == key })?.value
    }

    /// The number as a non-negative integer that fits `Int`, or nil (fractions, exponents, signs and
    /// overflowing literals all give nil).
    var nonNegativeInt: Int? {
        guard case .number(let text) = self, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return nil
        }
        return Int(text)
    }

    /// The number as a `Double` (nil if not a number or not representable as a finite Double).
    var double: Double? {
        guard case .number(let text) = self, let d = Double(text), d.isFinite else { return nil }
        return d
    }
}

/// A strict RFC 8259 JSON parser over UTF-8 bytes: no comments, no trailing commas, no NaN/Infinity,
/// no duplicate object keys, nesting depth ≤ `maxDepth`. Leading and trailing whitespace is allowed
/// (safetensors pads its header with spaces).
struct JSONParser {
    /// Deepest nesting accepted (serde_json's default recursion limit).
    static let maxDepth = 128

    private let bytes: [UInt8]
    private var index: Int
    private let end: Int
    /// What is being parsed, for error messages ("safetensors header").
    private let what: String

    /// Parses `bytes[range]` as one JSON document.
    /// - Throws: `BihashError.invalidFormat` naming the byte offset (relative to `range.lowerBound`) and the problem.
    static func parse(_ bytes: [UInt8], range: Range<Int>? = nil, what: String) throws -> JSONValue {
        let r = range ?? 0..<bytes.count
        guard r.lowerBound >= 0, r.upperBound <= bytes.count else {
            throw BihashError.invalidFormat("\(what): byte range \(r) outside a buffer of \(bytes.count) bytes")
        }
        var parser = JSONParser(bytes: bytes, index: r.lowerBound, end: r.upperBound, what: what)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index != parser.end {
            throw parser.error("unexpected '\(parser.describe(parser.bytes[parser.index]))' after the JSON value")
        }
        return value
    }

    private init(bytes: [UInt8], index: Int, end: Int, what: String) {
        self.bytes = bytes
        self.index = index
        self.end = end
        self.what = what
        self.start = index
    }

    private let start: Int

    private func error(_ message: String) -> BihashError {
        .invalidFormat("\(what) is not valid JSON: \(message) at byte \(index - start)")
    }

    private func describe(_ b: UInt8) -> String {
        (0x20..<0x7F).contains(b) ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16, uppercase: true)
    }

    private mutating func skipWhitespace() {
        while index < end, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard index < end else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected '\(describe(bytes[index]))'")
        }
    }

    private mutating func expectLiteral(_ literal: String) throws {
        for b in literal.utf8 {
            guard index < end, bytes[index] == b else { throw error("invalid literal (expected '\(literal)')") }
            index += 1
        }
    }

    private mutating func parseObject(depth: Int) throws -> JSONValue {
        guard depth <= JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        index += 1  // {
        var members: [(key: String, value: JSONValue)] = []
        var keys = Set<String>()
        skipWhitespace()
        if index < end, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard index < end, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            guard keys.insert(key).inserted else { throw error("duplicate key \"\(key)\"") }
            skipWhitespace()
            guard index < end, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
            index += 1
            skipWhitespace()
            members.append((key, try parseValue(depth: depth)))
            skipWhitespace()
            guard index < end else { throw error("unexpected end of input in an object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw error("expected ',' or '}' in an object")
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSONValue {
        guard depth <= JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        index += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if index < end, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < end else { throw error("unexpected end of input in an array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            throw error("expected ',' or ']' in an array")
        }
    }

    private mutating func parseNumber() throws -> JSONValue {
        let first = index
        func digits() -> Int {
            let s = index
            while index < end, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            return index - s
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < end else { throw error("incomplete number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < end, bytes[index] >= 0x30, bytes[index] <= 0x39 { throw error("number with a leading zero") }
        } else if digits() == 0 {
            throw error("invalid number")
        }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw error("number without digits after '.'") }
        }
        if index < end, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw error("number without digits in its exponent") }
        }
        return .number(String(decoding: bytes[first..<index], as: UTF8.self))
    }

    private mutating func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard index < end else { throw error("incomplete \\u escape") }
            let b = bytes[index]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw error("invalid hex digit in a \\u escape")
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }

    /// Parses a string starting at the opening quote. The caller validated the document as UTF-8 beforehand
    /// or accepts replacement of invalid sequences; raw control characters are rejected as JSON requires.
    private mutating func parseString() throws -> String {
        index += 1  // opening quote
        var out = [UInt8]()
        while true {
            guard index < end else { throw error("unterminated string") }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") { index += 1; break }
            if b < 0x20 { throw error("raw control character \(describe(b)) in a string") }
            if b != UInt8(ascii: "\\") { out.append(b); index += 1; continue }
            index += 1
            guard index < end else { throw error("unterminated escape") }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 1 < end, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error("lone leading surrogate in a \\u escape")
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid trailing surrogate in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("lone trailing surrogate in a \\u escape")
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw error("invalid escape '\\\(describe(e))'")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return s
    }
}

/// JSON text output matching serde_json's compact format (the writer of the reference safetensors
/// implementation): no whitespace, `"` `\` and control characters escaped (`\n`-style where one exists,
/// else `\u00xx`), everything else — including non-ASCII — written as UTF-8.
public enum JSONWriter {
    /// `s` as a quoted JSON string (quotes, backslashes and control characters escaped).
    public static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Serialises a value compactly (object members in their stored order).
    static func serialize(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n
        case .string(let s): return quote(s)
        case .array(let items): return "[" + items.map(serialize).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.map { quote($0.key) + ":" + serialize($0.value) }.joined(separator: ",") + "}"
        }
    }

    /// A JSON number literal for an integer.
    static func number(_ i: Int) -> JSONValue { .number(String(i)) }

    /// A JSON number literal for a finite Double: Swift's shortest round-tripping form (`1e-05`, `0.1`).
    static func number(_ d: Double) -> JSONValue { .number(d.description) }
}
