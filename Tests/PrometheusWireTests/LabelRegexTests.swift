import Foundation
import PrometheusWire
import Testing

/// `LabelRegex` (what ships) against Foundation's `NSRegularExpression` (what it replaced) on every
/// pair of these patterns and values, both anchored and dot-all as PromQL wants; then what RE2 does
/// and ICU did not: values compared scalar by scalar, never by canonical equivalence.
@Suite struct LabelRegexTests {
    static let patterns = [
        "", "up", "node|prometheus", "node|", "|api", ".*", ".+", "http_.*", ".*_total", ".*memory.*", "http_.*_total",
        "10\\.0\\.1.*", "a\\.b", "a.b", "a\\-b|c\\/d", ".*.*", "x.*y.*z", "node_(cpu|memory)_.*", "10\\.0\\.[0-9]+\\.[0-9]+:910[01]",
        "5..", "0\\.(1|5)|\\+Inf", "(?i)NODE_.*", "[a-c]+", "[^a]*", "\\d+", "\\w+_total", "a{2,3}", "a?b", "(a|b)*c", "é.*", ".*é",
        "\\.\\*", "a.*b.*c.*d", "[[:alpha:]]+", "\\pL+", "a\\", "\\.*x", "(?:go|process)_(cpu|mem)", "(node|api)_.*",
        "(a|b)(c|d)", "a(b|)c", "(a)?", "()", "(?i)UP", "(?i)up|Node", "(?i)NODE_.*", "(?i)kelvin", "(?i)é",
    ]
    static let values = [
        "", "up", "node", "prometheus", "api", "nodes", "http_requests_total", "http_", "_total", "go_memory_bytes", "memory",
        "10.0.1.7:9100", "10.0.12.3:9101", "10.0.2.1:9100", "a.b", "axb", "a-b", "c/d", "xyz", "x__y__z", "node_cpu_seconds",
        "node_memory_free", "node_disk", "500", "503", "50", "0.1", "0.5", "+Inf", "NODE_X", "abc", "bbb", "123", "12a",
        "foo_total", "aa", "aaa", "aaaa", "b", "ab", "ababc", "étoile", "café", ".*", "line\nbreak", "a\nb", "abcd", "a1b2c3d",
        "über", "x", "\\.*x", "..x", "go_cpu", "process_mem", "go_mem", "node_", "api_x", "ac", "bd", "abc", "UP", "uP", "NODE_cpu", "Node_", "nOdE", "\u{212A}elvin", "KELVIN", "É", "é",
    ]

    @Test func agreesWithNSRegularExpressionOnEveryPairThatParses() throws {
        var compared = 0
        for pattern in Self.patterns {
            guard let old = try? NSRegularExpression(pattern: "^(?:\(pattern))$", options: [.dotMatchesLineSeparators]) else {
                #expect(throws: LabelRegex.Invalid.self, "\(pattern) is refused by both") { try LabelRegex(pattern) }
                continue
            }
            let new = try LabelRegex(pattern)
            for value in Self.values {
                let expected = old.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
                #expect(new.matches(value) == expected, "\(pattern) on \(value.debugDescription) (\(new.path))")
                compared += 1
            }
        }
        #expect(compared > 1500)
    }

    @Test func commonShapesNeedNoEngine() throws {
        let shapes = ["up": "literal set", "node|prometheus": "literal set", ".*": "any", ".+": "non-empty", "http_.*": "prefix set",
                      ".*_total": "prefix/infix/suffix", ".*memory.*": "prefix/infix/suffix", "http_.*_total": "prefix/infix/suffix",
                      "10\\.0\\.1.*": "prefix set", "node_(cpu|memory)_.*": "prefix set", "0\\.(1|5)|\\+Inf": "literal set",
                      "(?:go|process)_(cpu|mem)": "literal set", "(a|b)*c": "engine", "(?i)up": "case-folded set",
                      "(?i)NODE_.*": "case-folded set", "(?i)sum": "engine", "\\d+": "engine"]
        for (pattern, path) in shapes {
            #expect(try LabelRegex(pattern).path == path, "\(pattern)")
        }
    }

    /// RE2 (and so Prometheus) compares code points: a decomposed é is two, and matches neither the
    /// precomposed literal nor a single `.`.
    @Test func valuesAreComparedScalarByScalar() throws {
        let precomposed = "caf\u{E9}", decomposed = "cafe\u{301}"
        #expect(try LabelRegex(precomposed).matches(precomposed))
        #expect(try !LabelRegex(precomposed).matches(decomposed))
        #expect(try LabelRegex("caf.").matches(precomposed))
        #expect(try !LabelRegex("caf.").matches(decomposed))
        #expect(try LabelRegex("caf..").matches(decomposed))
        #expect(try !LabelRegex("caf\u{E9}|x").matches(decomposed))
        #expect(try !LabelRegex("ca.*\u{E9}").matches(decomposed))
        #expect(try LabelRegex("a.b").matches("a\nb"), "dot-all, as PromQL")
    }

    @Test func anInvalidPatternIsNamed() {
        for pattern in ["(", "a)", "[a", "*a", "a{2,1}"] {
            let error = #expect(throws: LabelRegex.Invalid.self) { try LabelRegex(pattern) }
            #expect(error?.pattern == pattern)
        }
    }
}
