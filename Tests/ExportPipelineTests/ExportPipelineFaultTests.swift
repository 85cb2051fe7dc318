import ArchiveFormat
import ArchiveStore
@testable import ExportPipeline
import Foundation
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Synchronization
import Testing
import TestSupport

let hour: Int64 = 3_600_000
let rangeStart: Int64 = 1_700_000_000_000 / hour * hour
let rangeEnd = rangeStart + 6 * hour

/// 20 series over six hours at 15 s (with a few special values).
let dataset: [Series] = (0..<20).map { i in
    Series(labels: Labels(sorting: [Label("__name__", i % 2 == 0 ? "even_metric" : "odd_metric"), Label("i", "\(i)"),
                                    Label("replica", "r1")]),
           samples: stride(from: rangeStart + Int64(i) * 7, to: rangeEnd, by: 15_000).enumerated().map { n, t in
               Sample(timestampMs: t, valueBits: n % 50 == 7 ? Sample.staleNaNBits : (Double(n) * 0.25 + Double(i)).bitPattern)
           })
}

func expectedMap(_ series: [Series] = dataset, dropping: Set<String> = []) -> SeriesMap {
    var map: SeriesMap = [:]
    for s in series { map[s.labels.removing(names: dropping)] = s.samples }
    return map
}

/// The read timeout is long: no test here waits for it, and a busy test machine (CI runs the suites
/// in parallel on 2 cores) can stall a healthy reply for seconds, which would add a retried read.
func configuration(url: String, archive: String, selectors: [SeriesSelector] = [.everySeries], slab: Int64 = hour,
                   segmentBytes: Int = 64 << 20, dropLabels: [String] = [], attempts: Int = 4) -> ExportConfiguration {
    ExportConfiguration(source: EndpointConfiguration(url: url, readTimeoutSeconds: 30), selectors: selectors,
                        startMs: rangeStart, endMs: rangeEnd, startArgument: "\(rangeStart)", endArgument: "\(rangeEnd)",
                        slabWidthMs: slab, segmentTargetBytes: segmentBytes, compressionLevel: 3, dropLabels: dropLabels,
                        archivePath: archive, retry: RetryPolicy(maxAttempts: attempts, initialDelaySeconds: 0.01, maxDelaySeconds: 0.05))
}

/// A scripted remote-read source that survives several export runs (resume needs the same URL).
/// `script` sees only read requests, numbered from 0; the exporter's look-up of external labels
/// (GET /api/v1/status/config) is answered 404, as a non-Prometheus source would.
final class Source: Sendable {
    let server: ScriptedHTTPServer
    var url: String { server.baseURL + "/api/v1/read" }
    var reads: [RecordedRequest] { server.received.filter { $0.method == "POST" } }

    init(_ script: @escaping @Sendable (RecordedRequest, Int) -> ScriptedReply) async throws {
        let counter = Mutex(0)
        server = try await ScriptedHTTPServer { request, _ in
            guard request.method == "POST" else { return .respond(status: 404, headers: [], body: []) }
            let index = counter.withLock { count in defer { count += 1 }; return count }
            return script(request, index)
        }
    }

    func export(_ configure: (String) throws -> ExportConfiguration) async throws -> ExportSummary {
        try await ExportPipeline(configuration: configure(url), logger: Logger(label: "test")).run()
    }

    func shutdown() async throws { try await server.shutdown() }
}

/// Runs `body` with a source and a temporary directory, cleaning both up.
func withSource(_ script: @escaping @Sendable (RecordedRequest, Int) -> ScriptedReply,
                _ body: (Source, String) async throws -> Void) async throws {
    let source = try await Source(script)
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    do { try await body(source, dir.path) } catch { try await source.shutdown(); throw error }
    try await source.shutdown()
}

func segmentFiles(_ archive: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: archive + "/segments")) ?? []).sorted()
}

@Suite struct ExportPipelineFaultTests {
    static let data = FakeRemoteReadSource(series: dataset)

    @Test func exportsEverySampleBitForBit() async throws {
        try await withSource({ r, _ in Self.data.answer(r.body) }) { source, dir in
            let summary = try await source.export { configuration(url: $0, archive: dir + "/a") }
            #expect(summary.complete)
            #expect(summary.archiveSlabs == 6)
            #expect(source.reads.count == 6)
            #expect(summary.samplesWritten == dataset.reduce(0) { $0 + $1.samples.count })
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap())
        }
    }

    @Test func retriesTransientFailuresAndNeverCommitsAPartialSlab() async throws {
        // Every slab fails first: 503 with Retry-After, a reset, a stream cut mid-frame, a 429 … then a slow good reply.
        try await withSource({ request, index in
            let good = Self.data.answer(request.body)
            switch index % 8 {
            case 0: return .respond(status: 503, headers: [("Retry-After", "0")], body: Array("compacting".utf8))
            case 2: return .close
            case 4:
                guard case .respond(_, let headers, let body) = good else { return good }
                return .truncate(status: 200, headers: headers, body: body, afterBytes: body.count / 2)
            case 6: return .respond(status: 429, headers: [], body: Array("slow down".utf8))
            default: return .delay(milliseconds: 30, then: good)
            }
        }) { source, dir in
            let summary = try await source.export { configuration(url: $0, archive: dir + "/a") }
            #expect(summary.retries == 6)
            #expect(source.reads.count == 12)
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap())
            #expect(segmentFiles(dir + "/a").count == 6)
            #expect(segmentFiles(dir + "/a").allSatisfy { !$0.hasSuffix(".tmp") })
        }
    }

    @Test func givesUpWithAClearErrorThenResumesToTheSameArchive() async throws {
        let failing = Mutex(true)
        try await withSource({ request, index in
            if failing.withLock({ $0 }) && index >= 2 { return .respond(status: 500, headers: [], body: Array("boom".utf8)) }
            return Self.data.answer(request.body)
        }) { source, dir in
            let error = await #expect(throws: ExportError.self) {
                try await source.export { configuration(url: $0, archive: dir + "/a", attempts: 3) }
            }
            #expect(error?.code == .gaveUp)
            #expect(error?.message.contains("failed 3 times") == true)
            #expect(error?.message.contains("boom") == true)
            #expect(error?.message.contains("resume") == true)
            let manifest = try ArchiveDirectory(root: dir + "/a").readManifest()
            #expect(manifest.slabs.count == 2)
            #expect(!manifest.complete)
            #expect(segmentFiles(dir + "/a") == manifest.segments.map { String($0.file.dropFirst("segments/".count)) })
            // As if an older promferry (segment format 1) had begun the archive: the resumed run adds
            // current-version segments and says so in the manifest.
            var older = manifest
            older.segmentFormatVersion = 1
            try ArchiveDirectory(root: dir + "/a").commit(older)

            failing.withLock { $0 = false }
            let summary = try await source.export { configuration(url: $0, archive: dir + "/a") }
            #expect(try ArchiveDirectory(root: dir + "/a").readManifest().segmentFormatVersion == Int(SegmentLayout.formatVersion))
            #expect(summary.resumedFromMs == rangeStart + 2 * hour)
            #expect(summary.slabsWritten == 4)
            #expect(source.reads.count == 2 + 3 + 4)
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap())
        }
    }

    @Test func halvesSlabsThatHitTheSampleLimit() async throws {
        // One hour holds 20 × 240 = 4800 samples; a limit of 2000 forces quarter-hour slabs: the first
        // read splits into halves and each half into quarters (3 splits), and later reads start at 15 min.
        let limited = FakeRemoteReadSource(series: dataset, samplesOnly: true, sampleLimit: 2000)
        try await withSource({ r, _ in limited.answer(r.body) }) { source, dir in
            let summary = try await source.export { configuration(url: $0, archive: dir + "/a") }
            #expect(summary.slabSplits == 3)
            #expect(summary.responseType == "samples")
            #expect(summary.archiveSlabs == 24)
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap())
        }
    }

    @Test func rollsOverToNewSegmentsAtTheSizeBound() async throws {
        try await withSource({ r, _ in Self.data.answer(r.body) }) { source, dir in
            _ = try await source.export { configuration(url: $0, archive: dir + "/a", slab: 6 * hour, segmentBytes: 1) }
            let manifest = try ArchiveDirectory(root: dir + "/a").readManifest()
            #expect(manifest.slabs.count == 1)
            #expect(manifest.slabs[0].segments.count == 20)
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap())
        }
    }

    @Test func exportsASeriesMatchedByTwoSelectorsOnce() async throws {
        let selectors = [try SeriesSelector(parsing: "even_metric"), try SeriesSelector(parsing: #"{i=~"1.*"}"#)]
        try await withSource({ r, _ in Self.data.answer(r.body) }) { source, dir in
            _ = try await source.export { configuration(url: $0, archive: dir + "/a", selectors: selectors) }
            let expected = expectedMap(dataset.filter { $0.labels["__name__"] == "even_metric" || $0.labels["i"]!.hasPrefix("1") })
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expected)
        }
    }

    @Test func dropsLabelsAndRefusesCollisions() async throws {
        try await withSource({ r, _ in Self.data.answer(r.body) }) { source, dir in
            _ = try await source.export { configuration(url: $0, archive: dir + "/a", dropLabels: ["replica"]) }
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap(dropping: ["replica"]))

            let error = await #expect(throws: ExportError.self) {
                try await source.export { configuration(url: $0, archive: dir + "/b", dropLabels: ["i"]) }
            }
            #expect(error?.code == .labelCollision)
            #expect(source.reads.count == 6 + 1)
            #expect(segmentFiles(dir + "/b").isEmpty)
        }
    }

    @Test func refusesToMixExports() async throws {
        try await withSource({ r, _ in Self.data.answer(r.body) }) { source, dir in
            _ = try await source.export { configuration(url: $0, archive: dir + "/a") }
            let error = await #expect(throws: ExportError.self) {
                try await source.export { configuration(url: $0, archive: dir + "/a", selectors: [try SeriesSelector(parsing: "up")]) }
            }
            #expect(error?.code == .archiveMismatch)
            #expect(error?.message.contains("another directory") == true)

            try FileManager.default.createDirectory(atPath: dir + "/busy", withIntermediateDirectories: true)
            try Data("mine".utf8).write(to: URL(fileURLWithPath: dir + "/busy/notes.txt"))
            let refusal = await #expect(throws: ArchiveStoreError.self) {
                try await source.export { configuration(url: $0, archive: dir + "/busy") }
            }
            #expect(refusal?.code == .notAnArchive)
            #expect(try String(contentsOfFile: dir + "/busy/notes.txt", encoding: .utf8) == "mine")
        }
    }

    @Test func removesLeftoversOfAnInterruptedSlabOnResume() async throws {
        let failing = Mutex(true)
        try await withSource({ request, index in
            if failing.withLock({ $0 }) && index >= 3 { return .respond(status: 401, headers: [], body: []) }
            return Self.data.answer(request.body)
        }) { source, dir in
            await #expect(throws: RemoteStorageError.self) { try await source.export { configuration(url: $0, archive: dir + "/a") } }
            // What a kill mid-slab leaves behind: a temporary file and a finished segment not in the manifest.
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/a/segments/000003-0000.pfs.tmp"))
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/a/segments/000003-0001.pfs"))
            failing.withLock { $0 = false }
            #expect(try await source.export { configuration(url: $0, archive: dir + "/a") }.complete)
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap())
            #expect(segmentFiles(dir + "/a").count == 6)
        }
    }
}
