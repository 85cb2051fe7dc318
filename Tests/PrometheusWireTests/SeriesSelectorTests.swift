import PrometheusWire
import Testing

@Suite struct SeriesSelectorTests {
    @Test func parsesAMetricName() throws {
        #expect(try SeriesSelector(parsing: "up").matchers == [LabelMatcher("__name__", .equal, "up")])
        #expect(try SeriesSelector(parsing: " node:cpu:rate5m ").matchers == [LabelMatcher("__name__", .equal, "node:cpu:rate5m")])
    }

    @Test func parsesEveryOperatorAndQuote() throws {
        let selector = try SeriesSelector(parsing: #"http_requests_total{code!="200", job=~'api|web', path!~`/debug/.*`, env="prod",}"#)
        #expect(selector.matchers == [
            LabelMatcher("__name__", .equal, "http_requests_total"), LabelMatcher("code", .notEqual, "200"),
            LabelMatcher("job", .regexMatch, "api|web"), LabelMatcher("path", .regexNoMatch, "/debug/.*"),
            LabelMatcher("env", .equal, "prod"),
        ])
    }

    @Test func decodesEscapesAsGoDoes() throws {
        let selector = try SeriesSelector(parsing: #"{instance=~"10\\..*",msg="a\"b\n\x41\u00e9\101"}"#)
        #expect(selector.matchers == [LabelMatcher("instance", .regexMatch, #"10\..*"#), LabelMatcher("msg", .equal, "a\"b\nAéA")])
        // Printing and parsing again gives the same matchers.
        #expect(try SeriesSelector(parsing: selector.description) == selector)
    }

    @Test(arguments: [
        ("", 1), ("{", 2), ("up{job=}", 8), ("up{job=\"x\"", 11), ("up{job~\"x\"}", 7), ("{job=\"a\" env=\"b\"}", 10),
        ("up{job=\"x\\q\"}", 10), ("up{job=\"x", 8), ("1up", 1), ("up}", 3), ("{job=~\".*\"}", 1), ("{job=\"\"}", 1),
        ("up{9job=\"x\"}", 4),
    ] as [(String, Int)])
    func pointsAtTheColumnOfAnError(_ text: String, _ column: Int) {
        let error = #expect(throws: SeriesSelector.ParseError.self) { try SeriesSelector(parsing: text) }
        #expect(error?.column == column, "\(error?.description ?? "")")
    }

    @Test func everySeriesSelectsByANonEmptyName() {
        #expect(SeriesSelector.everySeries.description == #"{__name__=~".+"}"#)
    }
}
