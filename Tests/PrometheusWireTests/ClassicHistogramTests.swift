import Foundation
@testable import PrometheusWire
import Testing

/// Native histograms as classic series: bucket bounds, `le` text, and the conversion itself, on
/// histograms built by hand whose classic form is worked out in each test's comments.
@Suite struct ClassicHistogramTests {
    // MARK: Bounds

    /// Every exponential root against an independent, correctly rounded computation (see the fixture's header).
    @Test func exponentialRootsAreCorrectlyRounded() throws {
        let text = String(decoding: try Fixtures.bytes("exponential-bucket-roots.txt"), as: UTF8.self)
        var checked = 0
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ")
            let schema = Int32(fields[0])!, j = Int64(fields[1])!, bits = UInt64(fields[2], radix: 16)!
            // Bucket j of the first octave above 1: its bound is 2^(j/2^s).
            let bound = try NativeBucketBounds.upperBound(index: j, schema: schema)
            #expect(bound.bitPattern == bits, "schema \(schema), j \(j): \(bound) against \(Double(bitPattern: bits))")
            checked += 1
        }
        #expect(checked == 511)
    }

    /// The double-double values lie far from a rounding midpoint, so rounding them to doubles cannot go
    /// either way: the margin is checked for all 511.
    @Test func doubleDoubleRootsAreFarFromEveryMidpoint() {
        for schema in 0...8 {
            for fraction in 0..<(1 << schema) {
                let exact = NativeBucketBounds.exactRoot(schema: schema, fraction: fraction)
                let halfUlp = exact.hi.ulp / 2
                #expect(abs(abs(exact.lo) - halfUlp) > halfUlp * 0x1p-40, "schema \(schema), fraction \(fraction)")
            }
        }
    }

    @Test func boundsAcrossSchemasAndOctaves() throws {
        // Schema 0: powers of two; bucket 0 is (0.5, 1].
        #expect(try NativeBucketBounds.upperBound(index: 0, schema: 0) == 1)
        #expect(try NativeBucketBounds.upperBound(index: -3, schema: 0) == 0.125)
        // Schema 2, bucket 7: 2^(7/4) = 2 · 2^(3/4).
        #expect(try NativeBucketBounds.upperBound(index: 7, schema: 2) == 3.363585661014858)
        // Schema 8, bucket −1: 2^(−1/256), the octave below 1.
        #expect(try NativeBucketBounds.upperBound(index: -1, schema: 8) == 0.9972960560854701)
        // Negative schemas: schema −4 has a factor 2^16 per bucket.
        #expect(try NativeBucketBounds.upperBound(index: 1, schema: -4) == 65536)
        #expect(try NativeBucketBounds.upperBound(index: -2, schema: -1) == 0.0625)
        // The bound that would be 2^1024 is the largest double; above it +Inf (Prometheus' rule).
        #expect(try NativeBucketBounds.upperBound(index: 1024, schema: 0) == .greatestFiniteMagnitude)
        #expect(try NativeBucketBounds.upperBound(index: 256, schema: -2) == .greatestFiniteMagnitude)
        #expect(try NativeBucketBounds.upperBound(index: 1024 * 256, schema: 8) == .greatestFiniteMagnitude)
        #expect(try NativeBucketBounds.upperBound(index: 1025, schema: 0) == .infinity)
        #expect(try NativeBucketBounds.upperBound(index: 1023 * 256 + 255, schema: 8) < .greatestFiniteMagnitude)
        #expect(try NativeBucketBounds.upperBound(index: -1074, schema: 0) == Double.leastNonzeroMagnitude)
        #expect(try NativeBucketBounds.upperBound(index: -1200, schema: 0) == 0)
        // Custom bounds, then +Inf for the bucket past them.
        #expect(try NativeBucketBounds.upperBound(index: 1, schema: -53, customValues: [0.25, 1]) == 1)
        #expect(try NativeBucketBounds.upperBound(index: 2, schema: -53, customValues: [0.25, 1]) == .infinity)
        #expect(throws: NativeBucketBounds.Failure.beyondCustomValues(index: 3, count: 2)) {
            try NativeBucketBounds.upperBound(index: 3, schema: -53, customValues: [0.25, 1])
        }
        #expect(throws: NativeBucketBounds.Failure.unknownSchema(9)) { try NativeBucketBounds.upperBound(index: 0, schema: 9) }
    }

    // MARK: le text

    /// Go's `strconv.FormatFloat(f, 'g', -1, 64)` plus ".0", as Prometheus writes `le`.
    @Test func leValuesAreWrittenAsPrometheusWritesThem() {
        let cases: [(Double, String)] = [
            (1, "1.0"), (0, "0.0"), (-0.0, "0.0"), (0.1, "0.1"), (0.25, "0.25"), (-1, "-1.0"), (2.5, "2.5"),
            (100_000, "100000.0"), (123_456, "123456.0"), (1_000_000, "1e+06"), (1_234_567, "1.234567e+06"),
            (65536, "65536.0"), (0.0001, "0.0001"), (0.00001, "1e-05"), (0.000123, "0.000123"), (1.5e-7, "1.5e-07"),
            (1.4142135623730951, "1.4142135623730951"), (3.363585661014858, "3.363585661014858"),
            (1e21, "1e+21"), (1e100, "1e+100"), (5e-324, "5e-324"), (.greatestFiniteMagnitude, "1.7976931348623157e+308"),
            (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"), (-0.0625, "-0.0625"), (0.3, "0.3"), (1 / 3, "0.3333333333333333"),
        ]
        for (value, text) in cases { #expect(OpenMetricsText.labelFloat(value) == text, "\(value)") }
    }

    // MARK: Conversion

    static let name = Label("__name__", "rpc_seconds")
    static let job = Label("job", "api")

    static func series(_ suffix: String, le: String? = nil) -> Labels {
        var labels = [Label("__name__", "rpc_seconds" + suffix), job]
        if let le { labels.append(Label("le", le)) }
        return Labels(sorting: labels)
    }

    static func classic(_ histograms: [HistogramSample], labels: [Label] = [name, job]) throws -> [Labels: [Sample]] {
        var converter = ClassicHistograms(labels: Labels(sorting: labels))
        var result: [Labels: [Sample]] = [:]
        for series in try converter.convert(histograms[...]) {
            #expect(result[series.labels] == nil)
            result[series.labels] = series.samples
        }
        return result
    }

    /// Schema 0, zero threshold 0.001 holding 2, positive buckets 0 and 1 (edges 1 and 2) holding 3
    /// and 1 (deltas 3, −2), negative bucket 1 holding 4: it spans [−2, −1), so its upper edge is −1.
    /// Cumulative: le −1 → 4, 0.001 → 6, 1 → 9, 2 → 10, +Inf → count 10.
    @Test func anIntegerHistogramBecomesCumulativeBuckets() throws {
        let h = HistogramSample(timestampMs: 1000, schema: 0, zeroThresholdBits: Double(0.001).bitPattern, sumBits: Double(1.5).bitPattern,
                                positiveSpans: [.init(offset: 0, length: 2)], negativeSpans: [.init(offset: 1, length: 1)],
                                counts: .integer(count: 10, zeroCount: 2, positiveDeltas: [3, -2], negativeDeltas: [4]))
        let got = try Self.classic([h])
        let expected: [Labels: [Sample]] = [
            Self.series("_bucket", le: "-1.0"): [Sample(timestampMs: 1000, value: 4)],
            Self.series("_bucket", le: "0.001"): [Sample(timestampMs: 1000, value: 6)],
            Self.series("_bucket", le: "1.0"): [Sample(timestampMs: 1000, value: 9)],
            Self.series("_bucket", le: "2.0"): [Sample(timestampMs: 1000, value: 10)],
            Self.series("_bucket", le: "+Inf"): [Sample(timestampMs: 1000, value: 10)],
            Self.series("_count"): [Sample(timestampMs: 1000, value: 10)],
            Self.series("_sum"): [Sample(timestampMs: 1000, value: 1.5)],
        ]
        #expect(got == expected)
    }

    /// Float counts are summed as doubles; the sum keeps its bits (a NaN payload included); a gap
    /// between spans leaves the skipped buckets out; schema 3 edges are 2^(i/8).
    @Test func aFloatHistogramKeepsItsSumBitsAndSkipsGaps() throws {
        let nanSum: UInt64 = 0x7ff8_0000_0000_0123
        let h = HistogramSample(timestampMs: 5, schema: 3, sumBits: nanSum,
                                positiveSpans: [.init(offset: 0, length: 1), .init(offset: 2, length: 1)],
                                counts: .float(countBits: Double(3.5).bitPattern, zeroCountBits: Double(0.5).bitPattern,
                                               positiveBits: [Double(1.25).bitPattern, Double(1.75).bitPattern], negativeBits: []))
        let got = try Self.classic([h])
        // Buckets 0 and 3: edges 2^0 = 1 and 2^(3/8); zero bucket (threshold 0) holds 0.5.
        let edge3 = try NativeBucketBounds.upperBound(index: 3, schema: 3)
        #expect(got[Self.series("_bucket", le: "0.0")] == [Sample(timestampMs: 5, value: 0.5)])
        #expect(got[Self.series("_bucket", le: "1.0")] == [Sample(timestampMs: 5, value: 1.75)])
        #expect(got[Self.series("_bucket", le: OpenMetricsText.labelFloat(edge3))] == [Sample(timestampMs: 5, value: 3.5)])
        #expect(got[Self.series("_bucket", le: "+Inf")] == [Sample(timestampMs: 5, value: 3.5)])
        #expect(got[Self.series("_sum")] == [Sample(timestampMs: 5, valueBits: nanSum)])
        #expect(got.count == 6)
    }

    /// Custom bounds [0.25, 1]: buckets 0, 1, 2 span (−Inf, 0.25], (0.25, 1], (1, +Inf]; no zero bucket.
    @Test func customBucketsUseTheirBounds() throws {
        let h = HistogramSample(timestampMs: 7, schema: -53, sumBits: Double(9.0).bitPattern, positiveSpans: [.init(offset: 0, length: 3)],
                                counts: .integer(count: 6, zeroCount: 0, positiveDeltas: [1, 1, 0], negativeDeltas: []), customValueBits: [Double(0.25).bitPattern, Double(1.0).bitPattern])
        let got = try Self.classic([h])
        #expect(got[Self.series("_bucket", le: "0.25")] == [Sample(timestampMs: 7, value: 1)])
        #expect(got[Self.series("_bucket", le: "1.0")] == [Sample(timestampMs: 7, value: 3)])
        #expect(got[Self.series("_bucket", le: "+Inf")] == [Sample(timestampMs: 7, value: 6)])
        #expect(got.count == 5)
    }

    /// Counts above 2^53 become the nearest doubles, as any float sample would.
    @Test func countsAbove2To53BecomeTheNearestDouble() throws {
        let big: UInt64 = 1 << 60 + 1
        let h = HistogramSample(timestampMs: 1, schema: 0, sumBits: 0, positiveSpans: [.init(offset: 0, length: 1)],
                                counts: .integer(count: big, zeroCount: 0, positiveDeltas: [Int64(big)], negativeDeltas: []))
        let got = try Self.classic([h])
        #expect(got[Self.series("_count")] == [Sample(timestampMs: 1, value: Double(big))])
        #expect(got[Self.series("_bucket", le: "1.0")] == [Sample(timestampMs: 1, value: Double(big))])
    }

    /// A staleness marker ends every classic series the histogram before it wrote, and the layout may
    /// change from one histogram to the next (a series then has gaps where its edge is absent).
    @Test func staleMarkersEndEveryClassicSeriesAndLayoutsMayChange() throws {
        func h(_ t: Int64, _ length: UInt32, offset: Int32 = 0) -> HistogramSample {
            HistogramSample(timestampMs: t, schema: 0, sumBits: Double(1.0).bitPattern, positiveSpans: [.init(offset: offset, length: length)],
                            counts: .integer(count: UInt64(length), zeroCount: 0, positiveDeltas: [1] + Array(repeating: 0, count: Int(length) - 1), negativeDeltas: []))
        }
        let got = try Self.classic([h(1, 1), h(2, 2), .staleMarker(timestampMs: 3, float: false), h(4, 1, offset: 1)])
        let stale = Sample(timestampMs: 3, valueBits: Sample.staleNaNBits)
        #expect(got[Self.series("_bucket", le: "1.0")] == [Sample(timestampMs: 1, value: 1), Sample(timestampMs: 2, value: 1), stale])
        #expect(got[Self.series("_bucket", le: "2.0")] == [Sample(timestampMs: 2, value: 2), stale, Sample(timestampMs: 4, value: 1)])
        #expect(got[Self.series("_bucket", le: "0.0")] == [Sample(timestampMs: 1, value: 0), Sample(timestampMs: 2, value: 0), stale,
                                                           Sample(timestampMs: 4, value: 0)])
        #expect(got[Self.series("_count")]?.map(\.valueBits) == [Double(1.0).bitPattern, Double(2.0).bitPattern, Sample.staleNaNBits, Double(1.0).bitPattern])
        #expect(got[Self.series("_sum")]?.count == 4)
        #expect(got[Self.series("_bucket", le: "+Inf")]?.count == 4)
    }

    @Test func histogramsWithoutAClassicFormAreRefusedNamingTheSeries() {
        let unknown = HistogramSample(timestampMs: 1, schema: 12, sumBits: 0, positiveSpans: [.init(offset: 0, length: 1)],
                                      counts: .integer(count: 1, zeroCount: 0, positiveDeltas: [1], negativeDeltas: []))
        var converter = ClassicHistograms(labels: Labels(sorting: [Self.name, Self.job]))
        let error = #expect(throws: ClassicHistograms.Unconvertible.self) { try converter.convert([unknown][...]) }
        #expect(error?.description.contains("rpc_seconds") == true)
        #expect(error?.description.contains("schema 12") == true)
        let unsorted = HistogramSample(timestampMs: 1, schema: -53, sumBits: 0, positiveSpans: [.init(offset: 0, length: 1)],
                                       counts: .integer(count: 1, zeroCount: 0, positiveDeltas: [1], negativeDeltas: []), customValueBits: [Double(2.0).bitPattern, Double(1.0).bitPattern])
        #expect(throws: ClassicHistograms.Unconvertible.self) { try converter.convert([unsorted][...]) }
    }

    /// Under `.classic` a series comes out as its floats, then its histograms a bounded number of
    /// classic samples at a time, every classic series continuing in time order across pieces.
    @Test func piecesAreBoundedAndContinueInTimeOrder() throws {
        var filter = SeriesFilter.all
        filter.histograms = .classic
        let histograms = (0..<100).map { i in
            HistogramSample(timestampMs: Int64(i), schema: 0, sumBits: 0, positiveSpans: [.init(offset: 0, length: 10)],
                            counts: .integer(count: 10, zeroCount: 0, positiveDeltas: [1] + Array(repeating: 0, count: 9), negativeDeltas: []))
        }
        let series = Series(labels: Labels(sorting: [Self.name, Self.job]), samples: [Sample(timestampMs: 200, value: 1)], histograms: histograms)
        var pieces = filter.pieces(of: series, samplesPerPiece: 140)
        var all: [Labels: [Sample]] = [:]
        var count = 0
        while let piece = try pieces.next() {
            count += 1
            let samples = piece.reduce(0) { $0 + $1.samples.count }
            #expect(samples <= 140 + 14 || count == 1)
            for s in piece { all[s.labels, default: []] += s.samples }
        }
        #expect(pieces.histogramsConverted == 100)
        #expect(all[series.labels] == [Sample(timestampMs: 200, value: 1)])
        // 10 buckets, the zero bucket, +Inf, _count, _sum.
        #expect(all.count == 1 + 14)
        for (_, samples) in all { #expect(zip(samples, samples.dropFirst()).allSatisfy { $0.timestampMs < $1.timestampMs }) }
        #expect(all[Self.series("_count")]?.count == 100)
    }
}
