/// The subset of Python literal syntax that NPY headers use: dicts, tuples, lists, strings, ints, True/False/None.
/// `NPYHeader` parses the header dictionary with it; errors are `BihashError.invalidFormat` naming `source`.
struct PythonLiteralParser {
    indirect enum Value: CustomStringConvertible {
        case dict([(String, Value)])
        case tuple([Value])
        case list([Value])
        case string(String)
        case int(Int)
        case bool(Bool)
        case none

        var description: String {
            switch self {
            case .dict(let e): return "{" + e.map { "'\($0.0)': \($0.1)" }.joined(separator: ", ") + "}"
            case .tuple(let v): return "(" + v.map(\.description).joined(separator: ", ") + (v.count == 1 ? ",)" : ")")
            case .list(let v): return "[" + v.map(\.description).joined(separator: ", ") + "]"
            case .string(let s): return "'\(s)'"
            case .int(let i): return String(i)
            case .bool(let b): return b ? "True" : "False"
            case .none: return "None"
            }
        }
    }

    let chars: [Character]
    let text: String
    let source: String
    var pos = 0

    init(text: String, source: String) {
        self.text = text
        self.chars = Array(text)
        self.source = source
    }

    private func fail(_ what: String) -> BihashError {
        .invalidFormat("'\(source)': cannot parse the NPY header (\(what) at character \(pos)): \(text.trimmingTrailingWhitespace())")
    }

    private mutating func skipSpace() {
        while pos < chars.count, chars[pos].isWhitespace { pos += 1 }
    }

    mutating func parseTopLevel() throws -> Value {
        let v = try parseValue(depth: 0)
        skipSpace()
        if pos != chars.count { throw fail("unexpected text after the dictionary") }
        return v
    }

    private mutating func expect(_ c: Character) throws {
        skipSpace()
        guard pos < chars.count, chars[pos] == c else { throw fail("expected '\(c)'") }
        pos += 1
    }

    /// Parses comma-separated items up to `close`, allowing a trailing comma. Returns the items and whether a
    /// comma was seen (a one-element tuple needs it).
    private mutating func parseSequence<T>(close: Character, item: (inout PythonLiteralParser) throws -> T) throws -> ([T], Bool) {
        var items = [T]()
        var sawComma = false
        while true {
            skipSpace()
            guard pos < chars.count else { throw fail("unterminated '\(close == ")" ? "(" : close == "]" ? "[" : "{")'") }
            if chars[pos] == close { pos += 1; return (items, sawComma) }
            items.append(try item(&self))
            skipSpace()
            guard pos < chars.count else { throw fail("unterminated sequence") }
            if chars[pos] == "," { pos += 1; sawComma = true } else if chars[pos] != close { throw fail("expected ',' or '\(close)'") }
        }
    }

    private mutating func parseValue(depth: Int) throws -> Value {
        if depth > 8 { throw fail("nesting too deep") }
        skipSpace()
        guard pos < chars.count else { throw fail("unexpected end") }
        let c = chars[pos]
        switch c {
        case "{":
            pos += 1
            let (entries, _) = try parseSequence(close: "}") { p -> (String, Value) in
                guard case .string(let key) = try p.parseValue(depth: depth + 1) else { throw p.fail("dictionary keys must be strings") }
                try p.expect(":")
                return (key, try p.parseValue(depth: depth + 1))
            }
            return .dict(entries)
        case "(":
            pos += 1
            let (items, comma) = try parseSequence(close: ")") { try $0.parseValue(depth: depth + 1) }
            if items.count == 1 && !comma { return items[0] }  // parenthesised expression
            return .tuple(items)
        case "[":
            pos += 1
            return .list(try parseSequence(close: "]") { try $0.parseValue(depth: depth + 1) }.0)
        case "'", "\"":
            pos += 1
            var s = ""
            while pos < chars.count, chars[pos] != c {
                if chars[pos] == "\\" { throw fail("escape sequences are not supported in header strings") }
                s.append(chars[pos]); pos += 1
            }
            guard pos < chars.count else { throw fail("unterminated string") }
            pos += 1
            return .string(s)
        default:
            var word = ""
            while pos < chars.count, chars[pos].isLetter || chars[pos].isNumber || chars[pos] == "_" || chars[pos] == "-" {
                word.append(chars[pos]); pos += 1
            }
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default:
                var digits = Substring(word)
                if digits.hasSuffix("L") { digits = digits.dropLast() }  // Python 2 long literals
                guard !digits.isEmpty, let v = Int(digits) else {
                    throw fail(word.isEmpty ? "unexpected character '\(c)'" : "unexpected word '\(word)'")
                }
                return .int(v)
            }
        }
    }
}

extension String {
    fileprivate func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
