import ArchiveFormat
import BlockCompression
import PrometheusWire
import Testing

/// Segment encoding 4: float samples with start timestamps, through records cut at the record limit,
/// a series that changes kind, and the decoder's refusals.
@Suite struct StartTimestampSegmentTests {
    static let labels = Labels(sorting: [Label("__name__", "process_cpu_seconds_total")])

    static func decode(_ bytes: [UInt8]) throws -> [Series] {
        var decoder = SegmentDecoder(name: "t.pfs", source: MemoryByteSource(bytes))
        var records: [Series] = []
        while let block = try decoder.nextBlock() { records += block }
        return records
    }

    @Test func startTimestampsSurviveRecordCutsAndKindChanges() throws {
        // 10 floats (starts 0 for the first 4: a record of them carries none), 3 histograms, 5 floats.
        let floatsA = (0..<10).map { Sample(timestampMs: Int64($0) * 1000, value: Double($0) * 0.5) }
        let histograms = (10..<13).map { HistogramSample.staleMarker(timestampMs: Int64($0) * 1000, float: false) }
        let floatsB = (13..<18).map { Sample(timestampMs: Int64($0) * 1000, valueBits: $0 == 15 ? Sample.staleNaNBits : Double($0).bitPattern) }
        let starts: [Int64] = [0, 0, 0, 0, 3500, 3500, 3500, -20, -20, -20, 12_000, 12_000, 12_000, 12_000, 12_000]
        let series = Series(labels: Self.labels, samples: floatsA + floatsB, histograms: histograms, sampleStartTimestampsMs: starts)
        let encoder = try SegmentEncoder(compressionLevel: 3, maxSamplesPerRecord: 4)
        let bytes = encoder.start() + (try encoder.append(series)) + (try encoder.finish())
        let records = try Self.decode(bytes)
        // Floats in records of 4, 4, 2; the histograms; floats in records of 4, 1.
        #expect(records.map(\.sampleCount) == [4, 4, 2, 3, 4, 1])
        #expect(records[0].sampleStartTimestampsMs.isEmpty)
        #expect(records[1].sampleStartTimestampsMs == [3500, 3500, 3500, -20])
        #expect(records.flatMap(\.samples) == floatsA + floatsB)
        let rebuilt = records.flatMap { $0.samples.isEmpty ? [] : ($0.sampleStartTimestampsMs.isEmpty ? Array(repeating: 0, count: $0.samples.count)
                                                                                                       : $0.sampleStartTimestampsMs) }
        #expect(rebuilt == starts)
    }

    @Test func malformedStartTimestampRecordsAreRefused() throws {
        let series = Series(labels: Self.labels, samples: [Sample(timestampMs: 1, value: 1)], sampleStartTimestampsMs: [5])
        let encoder = try SegmentEncoder(compressionLevel: 3)
        let bytes = encoder.start() + (try encoder.append(series)) + (try encoder.finish())
        #expect(try Self.decode(bytes) == [series])
        // The payload is: labels, 1 sample, t, 04, start 5, then Inner_Encoding; rewrite it to 3 and to 4.
        var payload: [UInt8] = []
        payload += [1, 8] + Array("__name__".utf8) + [25] + Array("process_cpu_seconds_total".utf8)
        payload += [1, 2, 4, 10]
        for inner: UInt8 in [3, 4] {
            let block = try Self.block(payload + [inner, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f])
            let error = #expect(throws: (any Error).self) { try Self.decode(block) }
            #expect("\(error.map { "\($0)" } ?? "")".contains("only 0, 1 or 2 may follow them"), "\(String(describing: error))")
        }
        // Encoding 4 in a version-3 file is unknown there.
        var old = try Self.block(payload + [0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f])
        old[8] = 3
        let error = #expect(throws: (any Error).self) { try Self.decode(old) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("unknown value encoding 4"), "\(String(describing: error))")
        // A start-timestamp count that does not match the samples is refused when writing.
        #expect(throws: ArchiveFormatError.self) {
            try encoder.append(Series(labels: Self.labels, samples: [Sample(timestampMs: 9, value: 1)], sampleStartTimestampsMs: [1, 2]))
        }
    }

    /// A one-block segment around `payload` (one record), with a correct footer.
    static func block(_ payload: [UInt8]) throws -> [UInt8] {
        let compressed = try Zstd.compress(payload, level: 3)
        var bytes = SegmentLayout.fileMagic + [SegmentLayout.formatVersion, 0, 0, 0, 0, 0, 0, 0]
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func le64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        le32(SegmentLayout.blockMagic); le32(UInt32(compressed.count)); le32(UInt32(payload.count)); le32(1)
        le32(CRC32C.checksum(compressed))
        bytes += compressed
        le32(SegmentLayout.footerMagic); le32(1); le64(1); le64(1); le64(1); le64(1); le64(1)
        bytes += SegmentLayout.trailingMagic
        return bytes
    }
}
