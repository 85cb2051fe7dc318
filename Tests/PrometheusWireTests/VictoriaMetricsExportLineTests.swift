@testable import PrometheusWire
import Testing
import Foundation

/// The VictoriaMetrics export-line parser: every shape 1.79 and later versions write, exact values,
/// and clear refusals.
@Suite struct VictoriaMetricsExportLineTests {
    static func parse(_ text: String) throws -> Series {
        try VictoriaMetricsExportLine.parse(Array(text.utf8)[...])
    }

    @Test func parsesALineAsVictoriaMetrics1_79WritesIt() throws {
        // As 1.79 wrote it for a series holding 1, a staleness marker and +Inf (measured), plus -Inf and a
        // label value with every escape VictoriaMetrics uses.
        let series = try Self.parse(#"{"metric":{"__name__":"s","u":"é\"q\\ \n\t\u0001 \ud83d\ude00"},"values":[1,null,+Inf,-Inf,0.1,1e-7],"#
            + #""timestamps":[1700000000000,1700000001000,1700000003000,1700000004000,1700000005000,1700000006000]}"#)
        #expect(series.labels == Labels(sorting: [Label("__name__", "s"), Label("u", "é\"q\\ \n\t\u{1} 😀")]))
        #expect(series.samples.map(\.valueBits) == [Double(1.0).bitPattern, Sample.staleNaNBits, Double.infinity.bitPattern,
                                                    (-Double.infinity).bitPattern, Double(0.1).bitPattern, Double(1e-7).bitPattern])
        #expect(series.samples.map(\.timestampMs) == [1_700_000_000_000, 1_700_000_001_000, 1_700_000_003_000,
                                                      1_700_000_004_000, 1_700_000_005_000, 1_700_000_006_000])
    }

    @Test func acceptsLaterVersionsWordsKeyOrderAndSpaces() throws {
        let series = try Self.parse(#" { "timestamps" : [ 1 , 2 , 3 , 4 ] , "values" : [ "Infinity" , "-Infinity" , NaN , "NaN" ] , "metric" : { } } "#)
        #expect(series.labels.labels.isEmpty)
        #expect(series.samples.map(\.valueBits) == [Double.infinity.bitPattern, (-Double.infinity).bitPattern, Sample.staleNaNBits, Sample.staleNaNBits])
    }

    /// VictoriaMetrics prints values in 'f' form: 1e300 as 301 digits, 5e-324 as 324 decimals.
    @Test func everyValueReadsBackToItsExactBits() throws {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = [0, -0.0, 1e300, -1e-300, 5e-324, .greatestFiniteMagnitude, 123456789012345678, 0.1234567890123456,
                                2.5, 999999999999999, 9007199254740993, 0.30000000000000004]
        for _ in 0..<2000 { values.append(Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF)) }
        for _ in 0..<2000 { values.append(Double(Int64.random(in: -1_000_000_000...1_000_000_000, using: &rng)) / [1, 10, 100, 1e4, 1e7][Int.random(in: 0..<5, using: &rng)]) }
        for value in values {
            // Go's 'f' with precision -1: the shortest digits, written without an exponent.
            let text = Self.plainDecimal(value)
            let series = try Self.parse(#"{"metric":{"a":"b"},"values":["# + text + #"],"timestamps":[1]}"#)
            #expect(series.samples[0].valueBits == value.bitPattern, "\(text)")
        }
    }

    /// `value` as plain decimal digits (no exponent), the shortest that read back exactly.
    static func plainDecimal(_ value: Double) -> String {
        let description = "\(value.magnitude)"
        let sign = value.sign == .minus ? "-" : ""
        guard let e = description.firstIndex(where: { $0 == "e" }) else {
            return sign + (description.hasSuffix(".0") ? String(description.dropLast(2)) : description)
        }
        let exponent = Int(description[description.index(after: e)...])!
        let digits = description[..<e].replacingOccurrences(of: ".", with: "")
        let point = 1 + exponent
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) }
        return sign + digits.prefix(point) + "." + digits.dropFirst(point)
    }

    @Test(arguments: [
        (#"{"metric":{"a":"b"},"values":[1,2],"timestamps":[1]}"#, "2 values but 1 timestamps"),
        (#"{"metric":{"a":"b"},"values":[1]}"#, "without \"metric\", \"values\" and \"timestamps\""),
        (#"{"metric":{"a":"b","a":"c"},"values":[1],"timestamps":[1]}"#, "a label name given twice"),
        (#"{"metric":{"a":"\x"},"values":[1],"timestamps":[1]}"#, "unknown escape"),
        (#"{"metric":{"a":"\ud800"},"values":[1],"timestamps":[1]}"#, "lone surrogate"),
        (#"{"metric":{"a":"b"},"values":[0x10],"timestamps":[1]}"#, "not a number"),
        (#"{"metric":{"a":"b"},"values":[nan],"timestamps":[1]}"#, "not a number"),
        (#"{"metric":{"a":"b"},"values":[1],"timestamps":[1.5]}"#, "not an integer"),
        (#"{"metric":{"a":"b"},"values":[1],"timestamps":[1]} x"#, "bytes after"),
        (#"{"metric":{"a":"b"},"values":[1],"timestamps":[1]"#, "expected \"}\""),
        (#"{"metric":{"a":"b"},"extra":[1],"values":[1],"timestamps":[1]}"#, "unexpected key"),
        (#"{"metric":{"a":"b},"values":[1],"timestamps":[1]}"#, "expected"),
    ] as [(String, String)])
    func malformedLinesAreRefusedSayingWhy(_ line: String, _ fragment: String) {
        let error = #expect(throws: VictoriaMetricsExportLine.Malformed.self) { try Self.parse(line) }
        #expect(error?.description.contains(fragment) == true, "\(error?.description ?? "")")
    }
}
