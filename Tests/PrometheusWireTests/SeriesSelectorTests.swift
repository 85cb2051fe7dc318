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

@Suite struct ShardTests {
    @Test func theSplitIsAFixedFunctionOfTheLabels() throws {
        let labels = Labels(sorting: [Label("__name__", "up"), Label("job", "node")])
        // FNV-1a 64 of "__name__\u{FF}up\u{FF}job\u{FF}node\u{FF}", fixed for every process and machine.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array("__name__".utf8) + [0xFF] + Array("up".utf8) + [0xFF] + Array("job".utf8) + [0xFF] + Array("node".utf8) + [0xFF] {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        for count in [1, 2, 3, 7, 4096] { #expect(Shard.part(of: labels, count: count) == Int(hash % UInt64(count))) }
        #expect(try Shard(parsing: "2/5") == Shard(index: 2, count: 5))
        for bad in ["5/5", "1", "x/2", "-1/2", "0/0", "0/4097", "1/2/3"] {
            #expect(throws: Shard.ParseError.self) { try Shard(parsing: bad) }
        }
        // A filter with a shard takes the series whose labels as sent fall to it.
        var filter = try SeriesFilter(dropLabels: ["job"])
        filter.shard = Shard(index: Shard.part(of: Labels(sorting: [Label("__name__", "up")]), count: 3), count: 3)
        #expect(filter.matches(labels))
        #expect(filter.description.hasSuffix("shard=\(filter.shard!)"))
    }
}
