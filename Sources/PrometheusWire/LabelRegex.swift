/// A PromQL label regular expression, fully anchored (`^(?s:re)$`) and matched against the label
/// value's bytes as RE2 does: code point by code point, never by grapheme or canonical equivalence.
///
/// The shapes that selectors use most are answered without a regex engine, as Prometheus' own
/// `FastRegexMatcher` does: a finite set of strings (`node`, `node|prometheus`, `0\.(1|5)|\+Inf`),
/// the same followed by `.*` (`node_(cpu|memory)_.*`), `.*` and `.+`, and a literal prefix, suffix
/// or infix around `.*` (`http_.*`, `.*_total`, `.*memory.*`, `http_.*_total`). Everything else runs
/// on the standard library's `Regex`, with Unicode-scalar semantics; `scripts/bench --regex`
/// compares both with Foundation's `NSRegularExpression`.
public struct LabelRegex: Sendable {
    enum Shape: Sendable {
        case literals(Set<[UInt8]>)
        /// Any of these prefixes, then anything.
        case prefixes([[UInt8]])
        /// `(?i)` before a set of ASCII strings (lower-cased), optionally followed by `.*`.
        case foldedLiterals(Set<[UInt8]>, thenAnything: Bool)
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
        case .prefixes: "prefix set"
        case .foldedLiterals: "case-folded set"
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
        case .prefixes(let prefixes): return prefixes.contains { value.utf8.starts(with: $0) }
        case .foldedLiterals(let set, let thenAnything):
            let folded = value.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }
            if !thenAnything { return set.contains(folded) }
            return set.contains { folded.starts(with: $0) }
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
        if let set = FiniteLanguage.strings(pattern) { return .literals(set) }
        if pattern.hasPrefix("(?i)") {
            // ASCII letters fold to their other case only, except k and s, which RE2 also matches to
            // the Kelvin sign and the long s: those stay with the engine.
            let rest = String(pattern.dropFirst(4))
            let thenAnything = rest.hasSuffix(".*")
            guard let set = FiniteLanguage.strings(thenAnything ? String(rest.dropLast(2)) : rest),
                  set.allSatisfy({ $0.allSatisfy { $0 < 0x80 && !"kKsS".utf8.contains($0) } }) else { return nil }
            return .foldedLiterals(Set(set.map { $0.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 } }),
                                   thenAnything: thenAnything)
        }
        if pattern.hasSuffix(".*"), let set = FiniteLanguage.strings(String(pattern.dropLast(2))), !set.isEmpty {
            return .prefixes(Array(set))
        }
        let parts = pattern.split(separator: ".*", omittingEmptySubsequences: false)
        // Each part one literal string. A part ending in an unescaped backslash would have escaped the
        // dot, and a part holding | or half a group is no literal: FiniteLanguage refuses all of those.
        let decoded = parts.compactMap { part in FiniteLanguage.strings(String(part)).flatMap { $0.count == 1 ? $0.first : nil } }
        guard parts.count == 2 || parts.count == 3, decoded.count == parts.count else { return nil }
        return parts.count == 2 ? .around(prefix: decoded[0], infix: nil, suffix: decoded[1])
                                : .around(prefix: decoded[0], infix: decoded[1], suffix: decoded[2])
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

/// The strings a pattern of literals, escaped punctuation, alternation and groups can match, when
/// there are few: `0\.(1|5)|\+Inf` is {"0.1", "0.5", "+Inf"}. Anything else (a class, a quantifier,
/// a dot, an anchor, a flag) makes the language unknown here (nil).
enum FiniteLanguage {
    /// Beyond this many strings a set is not worth building; the engine takes the pattern.
    static let maxStrings = 256

    static func strings(_ pattern: String) -> Set<[UInt8]>? {
        var parser = Parser(scalars: Array(pattern.unicodeScalars))
        guard let set = parser.alternation(), parser.index == parser.scalars.count else { return nil }
        return set
    }

    struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0

        mutating func alternation() -> Set<[UInt8]>? {
            guard var result = sequence() else { return nil }
            while index < scalars.count, scalars[index] == "|" {
                index += 1
                guard let next = sequence() else { return nil }
                result.formUnion(next)
                if result.count > FiniteLanguage.maxStrings { return nil }
            }
            return result
        }

        mutating func sequence() -> Set<[UInt8]>? {
            var result: Set<[UInt8]> = [[]]
            while index < scalars.count, scalars[index] != "|", scalars[index] != ")" {
                let piece: Set<[UInt8]>
                switch scalars[index] {
                case "(":
                    index += 1
                    if index + 1 < scalars.count, scalars[index] == "?", scalars[index + 1] == ":" { index += 2 }
                    guard index < scalars.count, scalars[index] != "?", let inner = alternation(),
                          index < scalars.count, scalars[index] == ")" else { return nil }
                    index += 1
                    piece = inner
                case "\\":
                    guard index + 1 < scalars.count else { return nil }
                    let escaped = scalars[index + 1]
                    guard escaped.isASCII, !escaped.properties.isAlphabetic, !("0"..."9").contains(escaped) else { return nil }
                    index += 2
                    piece = [Array(String(escaped).utf8)]
                case ".", "+", "*", "?", "[", "]", "{", "}", "^", "$":
                    return nil
                default:
                    piece = [Array(String(scalars[index]).utf8)]
                    index += 1
                }
                if index < scalars.count, ["*", "+", "?", "{"].contains(scalars[index]) { return nil }
                result = Set(result.flatMap { head in piece.map { head + $0 } })
                if result.count > FiniteLanguage.maxStrings { return nil }
            }
            return result
        }
    }
}
