import CommandLineSupport
import Testing

@Suite struct TimeExpressionTests {
    let now: Int64 = 1_700_000_000_123

    @Test(arguments: [
        ("now", 1_700_000_000_123),
        ("1700000000", 1_700_000_000_000),
        ("1700000000.5", 1_700_000_000_500),
        ("1700000000123", 1_700_000_000_123),
        ("2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("2023-11-14T23:13:20.250+01:00", 1_700_000_000_250),
        ("2023-11-14", 1_699_920_000_000),
        ("-30d", 1_700_000_000_123 - 30 * 86_400_000),
        ("now-12h", 1_700_000_000_123 - 12 * 3_600_000),
        ("-1h30m", 1_700_000_000_123 - 5_400_000),
    ] as [(String, Int64)])
    func parses(_ text: String, _ expected: Int64) throws {
        #expect(try TimeExpression.parse(text, nowMs: now) == expected)
    }

    @Test(arguments: ["", "yesterday", "-30x", "2023-13-45T00:00:00Z", "17000000000000000000", "now+1h"])
    func refuses(_ text: String) {
        #expect(throws: TimeExpression.ParseError.self) { try TimeExpression.parse(text, nowMs: now) }
    }

    @Test func durations() throws {
        #expect(try DurationExpression.parse("90s") == 90_000)
        #expect(try DurationExpression.parse("1h30m") == 5_400_000)
        #expect(try DurationExpression.parse("2d") == 172_800_000)
        #expect(try DurationExpression.parse("1w") == 604_800_000)
        #expect(try DurationExpression.parse("500ms") == 500)
        #expect(throws: TimeExpression.ParseError.self) { try DurationExpression.parse("1.5h") }
        #expect(throws: TimeExpression.ParseError.self) { try DurationExpression.parse("h") }
        #expect(throws: TimeExpression.ParseError.self) { try DurationExpression.parse("10") }
    }

    @Test func sizes() throws {
        #expect(try ByteSizeExpression.parse("64MiB") == 64 << 20)
        #expect(try ByteSizeExpression.parse("1GB") == 1_000_000_000)
        #expect(try ByteSizeExpression.parse("4096") == 4096)
        #expect(try ByteSizeExpression.parse("512k") == 512 << 10)
        #expect(throws: TimeExpression.ParseError.self) { try ByteSizeExpression.parse("12 parsecs") }
        #expect(ByteSizeExpression.format(1536) == "1.5 KiB")
    }
}
