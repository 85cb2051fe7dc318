import ArchiveFormat
import ArchiveTools
import BlockCompression
import Foundation
import PrometheusWire
import TSDBBlocks

/// The decoders that read untrusted bytes, each as a fuzz target: any input may make them throw,
/// none may make them crash, hang or allocate without bound.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case segment          // a segment file
    case frames           // a streamed remote-read body: frames, then ChunkedReadResponse, then XOR chunks
    case xorChunk = "xor-chunk"
    case samplesBody = "samples-body"   // a snappy SAMPLES body, then ReadResponse
    case writeRequest = "write-request" // a snappy remote-write body, then WriteRequest
    case selector         // a PromQL series selector
    case manifest         // manifest.json: JSON, then every rule of the manifest, then its sums
    case archive          // a whole archive directory (`ArchiveImage`) through verify, inspect and cat
    case histogramChunk = "histogram-chunk"  // first byte the encoding (2-6), then a chunk: HistogramChunk or XOR2Chunk
    case victoriaMetricsLines = "vm-export-lines" // VictoriaMetrics /api/v1/export JSON lines, as `--source-vm` reads them
    case tsdbBlock = "tsdb-block" // a TSDB block directory (`ArchiveImage.blockNames`): meta.json, index, chunks, tombstones

    /// Feeds one input to the target. Throwing is fine; trapping is a bug.
    public func run(_ data: [UInt8]) {
        switch self {
        case .segment:
            var decoder = SegmentDecoder(name: "fuzz.pfs", source: MemoryByteSource(data))
            var records: [Series] = []
            while let block = try? decoder.nextBlock() { records += block }
            // What decodes must survive being written again: every value, histogram and start timestamp (in an
            // order of series the encoder chooses).
            if !records.isEmpty, let again = try? Self.segmentRoundTrip(records) {
                precondition(Self.merged(again).sorted { $0.labels < $1.labels } == Self.merged(records).sorted { $0.labels < $1.labels },
                             "decoded records do not survive the segment format")
            }
        case .frames:
            var frames = ChunkedFrameDecoder(maxFrameBytes: 1 << 20)
            // Split the input at an arbitrary point, as the network would.
            let cut = data.isEmpty ? 0 : Int(data[0]) % (data.count + 1)
            frames.append(data[..<cut])
            frames.append(data[cut...])
            while let message = try? frames.nextFrame() {
                guard let response = try? ChunkedReadResponse.decode(message) else { continue }
                for series in response.series { for chunk in series.chunks { _ = try? XORChunk.decode(chunk.data) } }
            }
            _ = try? frames.finish()
        case .xorChunk:
            _ = try? XORChunk.decode(data)
        case .histogramChunk:
            guard let first = data.first, let encoding = Chunk.Encoding(rawValue: UInt64(first)) else { return }
            let chunk = Array(data.dropFirst())
            if encoding == .xor2 {
                guard let decoded = try? XOR2Chunk.decode(chunk), !decoded.samples.isEmpty else { return }
                let series = Series(labels: Labels(sorting: [Label("__name__", "x")]), samples: decoded.samples,
                                    sampleStartTimestampsMs: decoded.startTimestampsMs.contains { $0 != 0 } ? decoded.startTimestampsMs : [])
                // Samples with strictly increasing timestamps must survive the segment format with their starts.
                guard zip(series.samples, series.samples.dropFirst()).allSatisfy({ $0.timestampMs < $1.timestampMs }) else { return }
                let again = try? Self.segmentRoundTrip([series])
                precondition(again.map { Self.merged($0) == [series] } ?? false, "XOR2 samples do not survive the segment format")
            } else if let histograms = try? HistogramChunk.decode(chunk, encoding: encoding) {
                // What decodes must survive the protobuf and the segment format unchanged.
                for h in histograms {
                    var again = try? HistogramMessage.decode(ProtoReader(HistogramMessage.encode(h)))
                    again?.startTimestampMs = h.startTimestampMs
                    precondition(again == h, "a decoded histogram does not survive its protobuf")
                }
            }
        case .victoriaMetricsLines:
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let series = try? VictoriaMetricsExportLine.parse(line) else { continue }
                precondition(Labels.isSortedAndUnique(series.labels.labels), "a parsed line's labels are not sorted and unique")
            }
        case .samplesBody:
            if let body = try? Snappy.decompress(data, maxOutputBytes: 1 << 22) { _ = try? ReadResponse.decode(body) }
            _ = try? ReadResponse.decode(data)
            _ = try? ReadRequest.decode(data)
        case .writeRequest:
            if let body = try? Snappy.decompress(data, maxOutputBytes: 1 << 22) { _ = try? WriteRequest.decode(body) }
            _ = try? WriteRequest.decode(data)
        case .manifest:
            guard let manifest = try? JSONDecoder().decode(Manifest.self, from: Data(data)), (try? manifest.validate()) != nil else { return }
            // A manifest that validates must be safe to add up: these sums once trapped on hostile counts.
            _ = (manifest.totalSamples, manifest.totalBytes, manifest.resumePointMs, manifest.segments.count)
        case .archive:
            let root = ArchiveImage.scratchDirectory()
            defer { ArchiveImage.removeEntry(root) }
            ArchiveImage.unpack(data, into: root)
            _ = ArchiveVerifier.verify(root)
            _ = try? ArchiveInspector.inspect(root)
            for format in ArchiveCat.Format.allCases {
                var written = 0
                _ = try? ArchiveCat.run(root, format: format, filter: .all) { written += $0.utf8.count }
            }
            // Compaction re-encodes what it reads: whatever it accepts must read back the same, sample for
            // sample (records cut and ordered otherwise), and a sound archive must stay sound.
            guard let before = Self.samplesAsText(root) else { return }
            let wasSound = ArchiveVerifier.verify(root).sound
            let options = ArchiveCompaction.Options(maxSlabMs: .max, memoryBytes: 64 << 20, compressionLevel: 1, createdAt: "fuzz")
            guard (try? ArchiveCompaction.compact(root, options: options)) != nil else { return }
            precondition(Self.samplesAsText(root) == before, "compaction changed what the archive holds")
            precondition(!wasSound || ArchiveVerifier.verify(root).sound, "compaction made a sound archive unsound")
        case .tsdbBlock:
            let root = ArchiveImage.scratchDirectory()
            defer { ArchiveImage.removeEntry(root) }
            ArchiveImage.unpack(data, into: root, names: ArchiveImage.blockNames)
            Self.readBlocks(root)
        case .selector:
            if let selector = try? SeriesSelector(parsing: String(decoding: data, as: UTF8.self)) {
                // What prints must parse back to the same matchers.
                let again = try? SeriesSelector(parsing: selector.description)
                precondition(again == selector, "selector round trip failed for \(selector)")
            }
        }
    }

    /// Every sample of the archive as one sorted line each (`cat --format jsonl` prints a float record
    /// per line; its samples are split out here), or nil when cat refuses the archive.
    static func samplesAsText(_ root: String) -> [String]? {
        var lines: [String] = []
        let counts = try? ArchiveCat.run(root, format: .jsonl, filter: .all) { text in
            for line in text.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let timestamps = object["timestamps"] as? [Any], let values = object["values"] as? [Any] else {
                    lines.append(String(line))
                    continue
                }
                // The labels in name order (a dictionary prints in no fixed order).
                let labels = ((object["labels"] as? [String: Any]) ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                    .joined(separator: ",")
                for (t, v) in zip(timestamps, values) { lines.append("\(labels) \(t) \(v)") }
            }
        }
        return counts == nil ? nil : lines.sorted()
    }

    /// `records` written as one segment and decoded again.
    static func segmentRoundTrip(_ records: [Series]) throws -> [Series] {
        let encoder = try SegmentEncoder(compressionLevel: 1)
        var bytes = encoder.start()
        for record in records { bytes += try encoder.append(record) }
        bytes += try encoder.finish()
        var decoder = SegmentDecoder(name: "again.pfs", source: MemoryByteSource(bytes))
        var again: [Series] = []
        while let block = try decoder.nextBlock() { again += block }
        return again
    }

    /// Consecutive records of one series joined (a writer may cut records elsewhere), with start
    /// timestamps that are all 0 written as none.
    static func merged(_ records: [Series]) -> [Series] {
        var result: [Series] = []
        for record in records {
            var starts = record.sampleStartTimestampsMs.isEmpty ? Array(repeating: 0, count: record.samples.count) : record.sampleStartTimestampsMs
            if var last = result.last, last.labels == record.labels {
                result.removeLast()
                starts = (last.sampleStartTimestampsMs.isEmpty ? Array(repeating: 0, count: last.samples.count) : last.sampleStartTimestampsMs) + starts
                last.samples += record.samples
                last.histograms += record.histograms
                last.sampleStartTimestampsMs = starts.contains { $0 != 0 } ? starts : []
                result.append(last)
            } else {
                result.append(Series(labels: record.labels, samples: record.samples, histograms: record.histograms,
                                     sampleStartTimestampsMs: starts.contains { $0 != 0 } ? starts : []))
            }
        }
        return result
    }
}

extension FuzzTarget {
    /// Opens `root` as a TSDB directory and reads all of it, and one metric of it: whatever the reader
    /// emits must be a well-formed series inside the range, its samples in strictly increasing time.
    static func readBlocks(_ root: String) {
        guard let directory = try? TSDBDirectory(path: root) else { return }
        let (startMs, endMs) = (Int64.min / 2, Int64.max / 2)
        let selectors = [SeriesSelector.everySeries.matchers, [LabelMatcher("__name__", .equal, "up"), LabelMatcher("job", .notEqual, "")]]
        let done = DispatchSemaphore(value: 0)
        Task {
            defer { done.signal() }
            for matchers in selectors {
                _ = try? await directory.read(startMs: startMs, endMs: endMs, matchers: matchers, memoryBudget: 64 << 20) { series in
                    precondition(Labels.isSortedAndUnique(series.labels.labels), "a series' labels are not sorted and unique")
                    precondition(zip(series.samples, series.samples.dropFirst()).allSatisfy { $0.timestampMs < $1.timestampMs },
                                 "float samples out of order")
                    precondition(zip(series.histograms, series.histograms.dropFirst()).allSatisfy { $0.timestampMs < $1.timestampMs },
                                 "histogram samples out of order")
                    precondition((series.samples.map(\.timestampMs) + series.histograms.map(\.timestampMs)).allSatisfy { $0 >= startMs && $0 < endMs },
                                 "a sample outside the range read")
                }
            }
        }
        done.wait()
    }
}
