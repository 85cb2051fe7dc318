@testable import ArchiveFormat
import PeerHarness
import PrometheusWire
import Testing

/// Native histograms in segment format 3: every field back bit for bit, series that change kind,
/// and a hostile payload refused before it costs memory.
@Suite struct HistogramSegmentTests {
    static func encode(_ series: [Series], maxSamplesPerRecord: Int = 1000) throws -> [UInt8] {
        let encoder = try SegmentEncoder(compressionLevel: 3, maxSamplesPerRecord: maxSamplesPerRecord)
        var bytes = encoder.start()
        for s in series { bytes += try encoder.append(s) }
        bytes += try encoder.finish()
        return bytes
    }

    /// Records of one series joined again (the decoder returns one per record).
    static func decode(_ bytes: [UInt8]) throws -> ([Series], SegmentSummary?) {
        var decoder = SegmentDecoder(name: "test.pfs", source: MemoryByteSource(bytes))
        var out: [Series] = []
        while let block = try decoder.nextBlock() {
            for s in block {
                if let last = out.last, last.labels == s.labels {
                    out[out.count - 1].samples += s.samples
                    out[out.count - 1].histograms += s.histograms
                } else {
                    out.append(s)
                }
            }
        }
        return (out, decoder.footer)
    }

    /// Every odd field value the decoders can produce, hints and start timestamps included.
    static var oddOnes: [HistogramSample] {
        let spans = [HistogramSample.Span(offset: -3, length: 2), HistogramSample.Span(offset: 5, length: 1)]
        var samples = [
            HistogramSample(timestampMs: 1000, startTimestampMs: 400, resetHint: .yes, schema: 8, zeroThresholdBits: (-0.0).bitPattern,
                            sumBits: 0x7FF8_0000_0000_0001, positiveSpans: spans, negativeSpans: [HistogramSample.Span(offset: 0, length: 1)],
                            counts: .integer(count: UInt64.max, zeroCount: 1 << 41, positiveDeltas: [Int64.max, Int64.min, 7], negativeDeltas: [-1])),
            HistogramSample(timestampMs: 2000, startTimestampMs: 400, resetHint: .no, schema: 8, zeroThresholdBits: (-0.0).bitPattern,
                            sumBits: 1.5.bitPattern, positiveSpans: spans, negativeSpans: [HistogramSample.Span(offset: 0, length: 1)],
                            counts: .integer(count: 3, zeroCount: 0, positiveDeltas: [1, 1, -1], negativeDeltas: [0])),
            .staleMarker(timestampMs: 3000, float: false, startTimestampMs: 2500),
            // A stale sum on a histogram that keeps its other fields is written whole, not as a plain marker.
            HistogramSample(timestampMs: 4000, resetHint: .unknown, schema: 8, zeroThresholdBits: (-0.0).bitPattern, sumBits: Sample.staleNaNBits,
                            positiveSpans: spans, negativeSpans: [HistogramSample.Span(offset: 0, length: 1)],
                            counts: .integer(count: 3, zeroCount: 0, positiveDeltas: [1, 1, -1], negativeDeltas: [0])),
            HistogramSample(timestampMs: 5000, resetHint: .gauge, schema: -53, zeroThresholdBits: 0, sumBits: (-2.0).bitPattern,
                            positiveSpans: [HistogramSample.Span(offset: 0, length: 3)],
                            counts: .float(countBits: Double.infinity.bitPattern, zeroCountBits: 0x7FF0_0000_0000_0001,
                                           positiveBits: [0.5, -0.0, 1e300].map(\.bitPattern), negativeBits: []),
                            customValueBits: [0.25, 0.5, Double.infinity].map(\.bitPattern)),
            .staleMarker(timestampMs: 6000, float: true),
            HistogramSample(timestampMs: 7000, schema: -4, sumBits: 0, counts: .integer(count: 0, zeroCount: 0, positiveDeltas: [], negativeDeltas: [])),
        ]
        samples[5].resetHint = .no
        return samples
    }

    @Test func everyFieldComesBackBitForBit() throws {
        let odd = Series(labels: Labels(sorting: [Label("__name__", "odd")]), samples: [], histograms: Self.oddOnes)
        let history = HistogramHistory(seriesCount: 12, startMs: 1_700_000_000_000, endMs: 1_700_007_200_000).series()
        let input = [odd] + history
        let (output, footer) = try Self.decode(try Self.encode(input))
        // The encoder orders a block's series by the size of their values; the set is what must come back.
        #expect(output.sorted { $0.labels < $1.labels } == input.sorted { $0.labels < $1.labels })
        #expect(footer?.samples == input.reduce(0) { $0 + $1.sampleCount })
        #expect(footer?.series == input.count)
    }

    /// A series may change between floats and histograms; it is written as alternating records in time order.
    @Test func aSeriesThatChangesKindKeepsItsOrder() throws {
        let labels = Labels(sorting: [Label("__name__", "switching")])
        let floats = [0, 1, 2, 10, 11].map { Sample(timestampMs: Int64($0) * 1000, value: Double($0)) }
        let histograms = Self.oddOnes.map { h -> HistogramSample in var moved = h; moved.timestampMs += 2000; return moved }
        let series = Series(labels: labels, samples: floats, histograms: histograms)
        let (output, footer) = try Self.decode(try Self.encode([series]))
        #expect(output == [series])
        #expect(footer?.records == 3)
        let clash = Series(labels: labels, samples: [Sample(timestampMs: 3000, value: 1)], histograms: Array(histograms.prefix(2)))
        #expect(throws: ArchiveFormatError.self) { try Self.encode([clash]) }
    }

    /// Records are cut at the record limit; state restarts with each record.
    @Test func longSeriesSpanRecordsAndBlocks() throws {
        let history = HistogramHistory(seriesCount: 3, startMs: 0, endMs: 86_400_000, intervalMs: 15_000).series()
        let (output, footer) = try Self.decode(try Self.encode(history, maxSamplesPerRecord: 100))
        #expect(output == history)
        #expect((footer?.records ?? 0) > 3 * 5760 / 100)
    }

    @Test func aVersion2FileHoldsNoHistograms() throws {
        // Value_Encoding 3 in a version-2 file is unknown there.
        let payload: [UInt8] = [1, 8] + Array("__name__".utf8) + [1] + Array("h".utf8) + [1, 0, 3, 0, 0]
        let bytes = try handBuiltSegment(version: 2, payload: payload, records: 1, samples: 1, minT: 0, maxT: 0)
        let error = #expect(throws: ArchiveFormatError.self) { try Self.decode(bytes) }
        #expect(error?.message.contains("unknown value encoding 3") == true, "\(String(describing: error))")
    }

    /// A layout claiming 2^32 - 1 buckets in a few bytes, or 2^62 spans, is refused before allocating.
    @Test func hostileLayoutsAreRefused() throws {
        let labels: [UInt8] = [1, 8] + Array("__name__".utf8) + [1] + Array("h".utf8)
        let layoutHead: [UInt8] = [1, 0, 3, 0x10, 0] + [UInt8](repeating: 0, count: 8)   // 1 sample at t=0, histograms, flags: layout; schema 0; threshold
        let bucketBomb = labels + layoutHead + [1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0] + [UInt8](repeating: 0, count: 11)
        let spanBomb = labels + layoutHead + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F] + [UInt8](repeating: 0, count: 11)
        for payload in [bucketBomb, spanBomb] {
            let bytes = try handBuiltSegment(version: 3, payload: payload, records: 1, samples: 1, minT: 0, maxT: 0)
            let error = #expect(throws: ArchiveFormatError.self) { try Self.decode(bytes) }
            #expect(error?.message.contains("data left") == true, "\(String(describing: error))")
        }
    }
}
