import ArchiveStore
import ArchiveTools
@testable import ExportPipeline
import Foundation
import Logging
import PrometheusWire
import RemoteStorageClient
import Testing
import TestSupport
import ArchiveFormat

/// Float samples of XOR2 chunks (encoding 4, Prometheus 2026) keep their start timestamps through
/// an export into the archive (segment encoding 4), and `cat` prints them.
@Suite struct StartTimestampExportTests {
    /// The hand-built chunk of `ChunkGoldenVectorTests.xor2` (derived there bit by bit from
    /// tsdb/docs/format/chunks.md): 7 samples at 1000 … 601105 ms, start timestamps 900 ×3, 1040 ×4.
    static let chunk: [UInt8] = {
        let hex = "000783d00f3ff0000000000000c8010f284bfffb6c00563ff94f00000000000493e06603ca00"
        return stride(from: 0, to: hex.count, by: 2).map { offset in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
    }()

    static let labels = Labels(sorting: [Label("__name__", "process_cpu_seconds_total"), Label("job", "node")])

    @Test func startTimestampsReachTheArchive() async throws {
        try await withSource({ _, _ in
            let frame = ChunkedFrameDecoder.frame(ChunkedReadResponse(series: [ChunkedSeries(labels: Self.labels, chunks: [
                Chunk(minTimeMs: 1000, maxTimeMs: 601_105, encodingRaw: 4, data: Self.chunk),
            ])], queryIndex: 0).encode())
            return .respond(status: 200, headers: [("Content-Type", FakeRemoteReadSource.streamedContentType)], body: frame)
        }) { source, dir in
            let summary = try await source.export { url in
                ExportConfiguration(source: EndpointConfiguration(url: url, readTimeoutSeconds: 30), selectors: [.everySeries],
                                    startMs: 0, endMs: 2 * hour, startArgument: "0", endArgument: "\(2 * hour)", slabWidthMs: hour,
                                    segmentTargetBytes: 1 << 20, compressionLevel: 3, dropLabels: [], archivePath: dir + "/a",
                                    retry: RetryPolicy(maxAttempts: 2, initialDelaySeconds: 0.01, maxDelaySeconds: 0.05))
            }
            #expect(summary.complete)
            #expect(summary.samplesWritten == 7)
            let archive = ArchiveDirectory(root: dir + "/a")
            var records: [Series] = []
            for segment in try archive.readManifest().segments { try archive.readSegment(segment) { records.append($0) } }
            let series = try #require(records.first)
            #expect(records.count == 1)
            #expect(series.samples.map(\.timestampMs) == [1000, 1015, 1030, 1045, 1065, 1085, 601_105])
            #expect(series.sampleStartTimestampsMs == [900, 900, 900, 1040, 1040, 1040, 1040])
            #expect(try archive.readManifest().segmentFormatVersion == 4)

            var text = ""
            _ = try ArchiveCat.run(dir + "/a", format: .jsonl, filter: .all) { text += $0 }
            #expect(text.contains("\"startTimestamps\":[900,900,900,1040,1040,1040,1040]"), "\(text)")
            #expect(ArchiveVerifier.verify(dir + "/a").sound)
        }
    }
}
