/// A PromQL label regular expression, fully anchored (`^(?s:re)$`) and matched against the label
/// value's bytes as RE2 does: code point by code point, never by grapheme or canonical equivalence.
///
/// The shapes that selectors use most are answered without a regex engine, as Prometheus' own
/// `FastRegexMatcher` does: a literal (`node`), a set of literals (`node|prometheus`), `.*` and `.+`,
/// and a literal prefix, suffix or infix around `.*` (`http_.*`, `.*_total`, `.*memory.*`,
/// `http_.*_total`). Everything else runs on the standard library's `Regex`, with Unicode-scalar
/// semantics; `scripts/bench --regex` compares both with Foundation's `NSRegularExpression`.
public struct LabelRegex: Sendable {
    enum Shape: Sendable {
        case literals(Set<[UInt8]>)
        case anything
        case nonEmpty
        /// `prefix.*infix.*suffix` with any of the three empty; `infix` needs `.*` on both sides.
        case around(prefix: [UInt8], infix: [UInt8]?, suffix: [UInt8])
        case engine(CompiledRegex)
    }

    public let pattern: String
    let shape: Shape

    /// - Throws: `LabelRegex.Invalid` when the pattern is not a regular expression.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        if let fast = Self.fastShape(pattern) {
            shape = fast
        } else {
            do {
                shape = .engine(CompiledRegex(try Regex("(?s:\(pattern))").matchingSemantics(.unicodeScalar)))
            } catch {
                throw Invalid(pattern: pattern, reason: "\(error)")
            }
        }
    }

    public struct Invalid: Error, Sendable {
        public let pattern: String
        public let reason: String
    }

    /// Which way a value is matched, for the benchmark and debug logs: "literal set", "any", "non-empty",
    /// "prefix/infix/suffix" or "engine".
    public var path: String {
        switch shape {
        case .literals: "literal set"
        case .anything: "any"
        case .nonEmpty: "non-empty"
        case .around: "prefix/infix/suffix"
        case .engine: "engine"
        }
    }

    /// Whether the whole of `value` matches.
    public func matches(_ value: String) -> Bool {
        switch shape {
        case .literals(let set): return set.contains(Array(value.utf8))
        case .anything: return true
        case .nonEmpty: return !value.isEmpty
        case .around(let prefix, let infix, let suffix):
            let bytes = value.utf8
            guard bytes.count >= prefix.count + (infix?.count ?? 0) + suffix.count, bytes.starts(with: prefix),
                  bytes.reversed().starts(with: suffix.reversed()) else { return false }
            guard let infix else { return true }
            let middle = Array(bytes.dropFirst(prefix.count).dropLast(suffix.count))
            return Self.contains(middle, infix)
        case .engine(let regex):
            return (try? regex.regex.wholeMatch(in: value)) != nil
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        let first = needle[0]
        var start = 0
        while start <= haystack.count - needle.count {
            if haystack[start] == first && haystack[start..<start + needle.count].elementsEqual(needle) { return true }
            start += 1
        }
        return false
    }

    // MARK: Shapes answered without an engine

    static func fastShape(_ pattern: String) -> Shape? {
        if pattern == ".*" { return .anything }
        if pattern == ".+" { return .nonEmpty }
        let pieces = pattern.split(separator: "|", omittingEmptySubsequences: false)
        if pieces.count > 1 {
            // Alternatives of literals only; a bracket or group could hold the | itself.
            var set = Set<[UInt8]>()
            for piece in pieces {
                guard let literal = literal(piece) else { return nil }
                set.insert(literal)
            }
            return .literals(set)
        }
        if let literal = literal(Substring(pattern)) { return .literals([literal]) }
        let parts = pattern.split(separator: ".*", omittingEmptySubsequences: false)
        let decoded = parts.compactMap(literal)
        guard parts.count == 2 || parts.count == 3, decoded.count == parts.count else { return nil }
        // A part ending in an unescaped backslash would have escaped the dot; `literal` refuses those.
        return parts.count == 2 ? .around(prefix: decoded[0], infix: nil, suffix: decoded[1])
                                : .around(prefix: decoded[0], infix: decoded[1], suffix: decoded[2])
    }

    /// The bytes a pattern piece matches when it is a plain literal: no metacharacter, and escapes
    /// only of punctuation (`\.`, `\-`, `\/` …), never of letters or digits (`\d`, `\b` are classes).
    static func literal(_ piece: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        var escaped = false
        for scalar in piece.unicodeScalars {
            if escaped {
                guard scalar.isASCII, !(scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) else { return nil }
                bytes.append(UInt8(scalar.value))
                escaped = false
                continue
            }
            switch scalar {
            case "\\": escaped = true
            case ".", "+", "*", "?", "(", ")", "|", "[", "]", "{", "}", "^", "$": return nil
            default: bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        return escaped ? nil : bytes
    }
}

/// A compiled `Regex`, shared between tasks. `Regex<AnyRegexOutput>` is not declared `Sendable` only
/// because its output type is not; matching never mutates it once its program is built, and `init`
/// builds the program (by a first match) before the value can be shared.
final class CompiledRegex: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>

    init(_ regex: Regex<AnyRegexOutput>) {
        _ = try? regex.wholeMatch(in: "")
        self.regex = regex
    }
}
