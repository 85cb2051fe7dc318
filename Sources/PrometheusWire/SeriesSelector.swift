/// A PromQL series selector such as `up`, `{job="node",instance=~"10\\..*"}` or
/// `http_requests_total{code!="200"}`, parsed into remote-read label matchers.
public struct SeriesSelector: Hashable, Sendable, CustomStringConvertible {
    public let matchers: [LabelMatcher]

    public init(matchers: [LabelMatcher]) {
        self.matchers = matchers
    }

    /// Every series: `{__name__=~".+"}` (a matcher that cannot match the empty name).
    public static let everySeries = SeriesSelector(matchers: [LabelMatcher("__name__", .regexMatch, ".+")])

    public var description: String { "{" + matchers.map(\.description).joined(separator: ",") + "}" }

    /// A parse failure, pointing at the 1-based column of `text` where it happened.
    public struct ParseError: Error, CustomStringConvertible, Equatable, Sendable {
        public let text: String
        public let column: Int
        public let reason: String

        public init(text: String, column: Int, reason: String) {
            self.text = text
            self.column = column
            self.reason = reason
        }

        public var description: String {
            "selector \(text): column \(column): \(reason)"
        }
    }

    /// Parses a selector as PromQL does (string escapes as in Go: `\n`, `\"`, `\\`, `\xHH`, `\uHHHH`…;
    /// single, double and back-quoted strings).
    public init(parsing text: String) throws {
        var parser = Parser(text: text)
        self.matchers = try parser.parse()
    }

    /// Quotes a string as PromQL would print it.
    public static func quote(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\x" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

private struct Parser {
    let text: String
    let scalars: [Unicode.Scalar]
    var index = 0

    init(text: String) {
        self.text = text
        self.scalars = Array(text.unicodeScalars)
    }

    func fail(_ reason: String, at position: Int? = nil) -> SeriesSelector.ParseError {
        SeriesSelector.ParseError(text: text, column: (position ?? index) + 1, reason: reason)
    }

    var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    mutating func skipSpace() {
        while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { index += 1 }
    }

    static func isNameStart(_ c: Unicode.Scalar, metric: Bool) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || (metric && c == ":")
    }

    static func isNameChar(_ c: Unicode.Scalar, metric: Bool) -> Bool {
        isNameStart(c, metric: metric) || (c >= "0" && c <= "9")
    }

    mutating func name(metric: Bool) -> String? {
        guard let c = current, Parser.isNameStart(c, metric: metric) else { return nil }
        var out = String.UnicodeScalarView()
        while let c = current, Parser.isNameChar(c, metric: metric) { out.append(c); index += 1 }
        return String(out)
    }

    mutating func parse() throws -> [LabelMatcher] {
        skipSpace()
        guard current != nil else { throw fail("empty selector; write a metric name or {label=\"value\"}") }
        var matchers: [LabelMatcher] = []
        if let metric = name(metric: true) {
            matchers.append(LabelMatcher("__name__", .equal, metric))
            skipSpace()
        } else if current != "{" {
            throw fail("expected a metric name or '{', found '\(current!)'")
        }
        if current == "{" {
            index += 1
            skipSpace()
            while current != "}" {
                guard current != nil else { throw fail("missing closing '}'") }
                let nameStart = index
                guard let label = name(metric: false) else {
                    throw fail("expected a label name, found '\(current!)'")
                }
                skipSpace()
                let opStart = index
                let op: MatchType
                switch (current, index + 1 < scalars.count ? scalars[index + 1] : nil) {
                case ("=", "~"): op = .regexMatch; index += 2
                case ("!", "="): op = .notEqual; index += 2
                case ("!", "~"): op = .regexNoMatch; index += 2
                case ("=", _): op = .equal; index += 1
                default:
                    throw fail("expected one of = != =~ !~ after label \(label)", at: opStart)
                }
                skipSpace()
                let value = try string()
                if op == .regexMatch || op == .regexNoMatch, value.contains("\u{0}") {
                    throw fail("regular expression contains a NUL byte", at: nameStart)
                }
                matchers.append(LabelMatcher(label, op, value))
                skipSpace()
                if current == "," { index += 1; skipSpace(); continue }
                if current != "}" {
                    guard current != nil else { throw fail("missing closing '}'") }
                    throw fail("expected ',' or '}', found '\(current!)'")
                }
            }
            index += 1
        }
        skipSpace()
        if current != nil { throw fail("unexpected '\(current!)' after the selector") }
        if matchers.isEmpty { throw fail("a selector needs at least one matcher", at: 0) }
        if matchers.filter({ $0.name == "__name__" && $0.type == .equal }).count > 1 {
            throw fail("metric name given twice", at: 0)
        }
        if !matchers.contains(where: { !Parser.matchesEmpty($0) }) {
            throw fail("every matcher here also matches series without that label; add one that cannot match "
                + "the empty string, e.g. a metric name or label=~\".+\"", at: 0)
        }
        return matchers
    }

    /// Whether a matcher matches the empty value (PromQL refuses selectors made only of such matchers).
    /// Regular expressions are judged by the common forms only; the server has the final word.
    static func matchesEmpty(_ m: LabelMatcher) -> Bool {
        switch m.type {
        case .equal: return m.value.isEmpty
        case .notEqual: return !m.value.isEmpty
        case .regexMatch: return m.value.isEmpty || m.value == ".*" || m.value.hasSuffix("|") || m.value.hasPrefix("|")
        case .regexNoMatch: return !(m.value.isEmpty || m.value == ".*")
        }
    }

    mutating func string() throws -> String {
        guard let quote = current, quote == "\"" || quote == "'" || quote == "`" else {
            throw fail(current == nil ? "missing quoted value at the end" : "expected a quoted value, found '\(current!)'")
        }
        let start = index
        index += 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = current else { throw fail("unterminated string", at: start) }
            index += 1
            if c == quote { return String(out) }
            if quote == "`" { out.append(c); continue }
            if c == "\n" { throw fail("newline inside a quoted string", at: index - 1) }
            guard c == "\\" else { out.append(c); continue }
            guard let e = current else { throw fail("unterminated escape", at: index - 1) }
            let escapeStart = index - 1
            index += 1
            switch e {
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "\\": out.append("\\")
            case "\"", "'":
                guard e == quote else { throw fail("unknown escape \\\(e)", at: escapeStart) }
                out.append(e)
            case "x", "u", "U":
                let digits = e == "x" ? 2 : e == "u" ? 4 : 8
                guard let value = hex(digits), let scalar = Unicode.Scalar(value) else {
                    throw fail("invalid \\\(e) escape: expected \(digits) hex digits", at: escapeStart)
                }
                out.append(scalar)
            case "0"..."7":
                var value = e.value - 48
                for _ in 0..<2 {
                    guard let d = current, d >= "0" && d <= "7" else {
                        throw fail("invalid octal escape: expected 3 digits", at: escapeStart)
                    }
                    value = value * 8 + (d.value - 48)
                    index += 1
                }
                guard value <= 255, let scalar = Unicode.Scalar(value) else {
                    throw fail("octal escape above \\377", at: escapeStart)
                }
                out.append(scalar)
            default:
                throw fail("unknown escape \\\(e)", at: escapeStart)
            }
        }
    }

    mutating func hex(_ count: Int) -> UInt32? {
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let c = current, let d = UInt32(String(c), radix: 16) else { return nil }
            value = value * 16 + d
            index += 1
        }
        return value
    }
}
