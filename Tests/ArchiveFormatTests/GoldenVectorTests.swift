import ArchiveFormat
import Foundation
import PrometheusWire
import Testing

/// The worked examples of formats/segment-v*.md must decode to what the spec says they hold.
@Suite struct GoldenVectorTests {
    static func vector(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../formats/test-vectors/\(name)").standardized))
    }

    static let up = Labels(sorting: [Label("__name__", "up"), Label("job", "node")])

    @Test func theVersion1ExampleDecodesAsDocumented() throws {
        let bytes = try Self.vector("example-v1.pfs")
        #expect(bytes.count == 168)
        let (series, footer) = try decodeSegment(bytes)
        #expect(series == [
            Series(labels: Self.up,
                   samples: [Sample(timestampMs: 1_700_000_000_000, value: 1), Sample(timestampMs: 1_700_000_015_000, value: 1),
                             Sample(timestampMs: 1_700_000_030_001, value: 0.5)]),
            Series(labels: Labels(sorting: [Label("__name__", "x")]),
                   samples: [Sample(timestampMs: 1_700_000_000_000, valueBits: Sample.staleNaNBits),
                             Sample(timestampMs: 1_700_000_015_000, valueBits: 0x8000_0000_0000_0000)]),
        ])
        #expect(footer?.samples == 5)
    }

    static let version2Example = [Series(labels: up, samples: [
        Sample(timestampMs: 1_700_000_000_000, value: 1), Sample(timestampMs: 1_700_000_015_000, value: 1),
        Sample(timestampMs: 1_700_000_030_000, value: 0.5), Sample(timestampMs: 1_700_000_045_000, valueBits: Sample.staleNaNBits),
    ])]

    @Test func theVersion2ExampleDecodesAsDocumented() throws {
        let bytes = try Self.vector("example-v2.pfs")
        #expect(bytes[8] == 2)
        let (series, footer) = try decodeSegment(bytes)
        #expect(series == Self.version2Example)
        #expect(footer?.samples == 4)
        // The documented payload: the encoder writes the same record and file, bar the version byte
        // (versions 3 and 4 added only value encodings, so float records without start timestamps are unchanged).
        var written = try encodeSegment(Self.version2Example, level: 19)
        #expect(written[8] == 4)
        written[8] = 2
        #expect(written == bytes)
    }

    /// formats/segment-v3.md, "Worked example, encoding 3".
    @Test func theVersion3ExampleDecodesAsDocumented() throws {
        let bytes = try Self.vector("example-v3.pfs")
        #expect(bytes.count == 172)
        #expect(bytes[8] == 3)
        let spans = [HistogramSample.Span(offset: 0, length: 2), HistogramSample.Span(offset: 1, length: 1)]
        func sample(_ t: Int64, _ hint: HistogramSample.ResetHint, sum: Double, count: UInt64, deltas: [Int64]) -> HistogramSample {
            HistogramSample(timestampMs: t, resetHint: hint, schema: 0, zeroThresholdBits: 0x37F0_0000_0000_0000, sumBits: sum.bitPattern,
                            positiveSpans: spans, counts: .integer(count: count, zeroCount: 1, positiveDeltas: deltas, negativeDeltas: []))
        }
        var stale = HistogramSample.staleMarker(timestampMs: 1_700_000_030_000, float: false)
        stale.resetHint = .no
        let expected = Series(labels: Labels(sorting: [Label("__name__", "rpc_seconds")]), samples: [], histograms: [
            sample(1_700_000_000_000, .yes, sum: 4.5, count: 6, deltas: [2, 0, -1]),
            sample(1_700_000_015_000, .no, sum: 7.0, count: 9, deltas: [3, 0, 0]),
            stale,
        ])
        var decoder = SegmentDecoder(name: "example-v3.pfs", source: MemoryByteSource(bytes))
        var records: [Series] = []
        while let block = try decoder.nextBlock() { records += block }
        #expect(records == [expected])
        #expect(decoder.footer?.samples == 3)
        let encoder = try SegmentEncoder(compressionLevel: 19)
        var written = encoder.start() + (try encoder.append(expected)) + (try encoder.finish())
        // Version 4 writes histogram records as version 3 did.
        #expect(written[8] == 4)
        written[8] = 3
        #expect(written == bytes)
    }

    /// formats/segment-v4.md, "Worked example, encoding 4": a CPU counter whose process restarted.
    static let version4Example = Series(
        labels: Labels(sorting: [Label("__name__", "process_cpu_seconds_total"), Label("job", "node")]),
        samples: [Sample(timestampMs: 1_700_000_000_000, value: 1.5), Sample(timestampMs: 1_700_000_015_000, value: 2.25),
                  Sample(timestampMs: 1_700_000_030_000, value: 0.5)],
        sampleStartTimestampsMs: [1_699_999_990_000, 1_699_999_990_000, 1_700_000_020_000])

    @Test func theVersion4ExampleDecodesAsDocumented() throws {
        let bytes = try Self.vector("example-v4.pfs")
        #expect(bytes[8] == 4)
        var decoder = SegmentDecoder(name: "example-v4.pfs", source: MemoryByteSource(bytes))
        var records: [Series] = []
        while let block = try decoder.nextBlock() { records += block }
        #expect(records == [Self.version4Example])
        #expect(decoder.footer?.samples == 3)
        let encoder = try SegmentEncoder(compressionLevel: 19)
        let written = encoder.start() + (try encoder.append(Self.version4Example)) + (try encoder.finish())
        #expect(written == bytes)
    }
}
