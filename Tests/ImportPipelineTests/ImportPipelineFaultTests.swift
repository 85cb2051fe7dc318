import ArchiveFormat
import ArchiveStore
import BlockCompression
import Foundation
@testable import ImportPipeline
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Synchronization
import Testing
import TestSupport

let hour: Int64 = 3_600_000
let t0: Int64 = 1_700_000_000_000 / hour * hour

/// 30 series over 3 hours at 15 s, with staleness markers and -0.0.
let dataset: [Series] = (0..<30).map { i in
    Series(labels: Labels(sorting: [Label("__name__", "m\(i % 3)"), Label("i", "\(i)"), Label("zone", i % 2 == 0 ? "a" : "b")]),
           samples: stride(from: t0 + Int64(i), to: t0 + 3 * hour, by: 15_000).enumerated().map { n, t in
               Sample(timestampMs: t, valueBits: n % 40 == 3 ? Sample.staleNaNBits : n % 40 == 9 ? (-0.0).bitPattern
                      : (Double(n) * 1.25 - Double(i)).bitPattern)
           })
}

func map(_ series: [Series]) -> [Labels: [Sample]] {
    Dictionary(uniqueKeysWithValues: series.map { ($0.labels, $0.samples) })
}

/// Writes `dataset` as an archive of three one-hour slabs (two segments each).
func makeArchive(at path: String) throws {
    try TestArchive.write(dataset, at: path, startMs: t0, slabMs: hour, slabs: 3)
}

/// Runs `body` with a fresh archive and a scripted target built from `target` and `script`.
func withTarget(_ target: FakeRemoteWriteTarget = FakeRemoteWriteTarget(),
                script: @escaping @Sendable (RecordedRequest, Int, FakeRemoteWriteTarget) -> ScriptedReply = { r, _, t in t.handle(r) },
                _ body: (String, String, FakeRemoteWriteTarget, ScriptedHTTPServer) async throws -> Void) async throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    try makeArchive(at: dir.path + "/archive")
    let server = try await ScriptedHTTPServer { request, index in script(request, index, target) }
    do { try await body(dir.path, server.baseURL + "/api/v1/write", target, server) } catch { try await server.shutdown(); throw error }
    try await server.shutdown()
}

/// The read timeout is long: a reply the target sent but that a busy test machine delivered late must
/// not be taken for a lost one and sent again (which would be right, but breaks exactly-once counts).
func importing(_ dir: String, _ url: String, _ adjust: (inout ImportConfiguration) throws -> Void = { _ in }) async throws -> ImportSummary {
    var configuration = ImportConfiguration(archivePath: dir + "/archive", target: EndpointConfiguration(url: url, readTimeoutSeconds: 30),
                                            batchSamples: 500, concurrency: 3,
                                            retry: RetryPolicy(maxAttempts: 8, initialDelaySeconds: 0.01, maxDelaySeconds: 0.05))
    try adjust(&configuration)
    return try await ImportPipeline(configuration: configuration, logger: Logger(label: "test")).run()
}

let totalSamples = dataset.reduce(0) { $0 + $1.samples.count }

@Suite struct ImportPipelineFaultTests {
    @Test func deliversEverySampleExactlyOnceThroughRetries() async throws {
        // 429 with Retry-After, bursts of 503, resets and slow replies, each before the target stores anything.
        try await withTarget(script: { request, index, target in
            switch index % 10 {
            case 0: return .respond(status: 429, headers: [("Retry-After", "0")], body: Array("rate limited".utf8))
            case 1, 2, 3: return .respond(status: 503, headers: [], body: Array("not ready".utf8))
            case 5: return .close
            case 7: return .delay(milliseconds: 40, then: target.handle(request))
            default: return target.handle(request)
            }
        }) { dir, url, target, _ in
            let summary = try await importing(dir, url)
            #expect(summary.complete)
            #expect(summary.retries > 10)
            #expect(summary.samplesSent == totalSamples)
            #expect(target.contents == map(dataset))
            #expect(target.maxDeliveries == 1)
        }
    }

    @Test func sendsLabelsSortedAndSeriesInTimeOrderWithTheProtocolHeaders() async throws {
        try await withTarget { dir, url, target, server in
            _ = try await importing(dir, url) { $0.concurrency = 4; $0.batchSamples = 100 }
            var last: [Labels: Int64] = [:]
            for request in server.received {
                #expect(request.header("Content-Encoding") == "snappy")
                #expect(request.header("Content-Type") == "application/x-protobuf")
                #expect(request.header("X-Prometheus-Remote-Write-Version") == "0.1.0")
                let write = try WriteRequest.decode(try Snappy.decompress(request.body, maxOutputBytes: 1 << 24))
                #expect(write.timeseries.reduce(0) { $0 + $1.samples.count } <= 100)
                for series in write.timeseries {
                    for sample in series.samples {
                        #expect(sample.timestampMs > last[series.labels, default: .min], "series \(series.labels) out of order")
                        last[series.labels] = sample.timestampMs
                    }
                }
            }
            #expect(target.contents == map(dataset))
        }
    }

    @Test func stopsAtTheFirstRefusalWithTheTargetsMessage() async throws {
        let refusing = FakeRemoteWriteTarget { labels, sample in
            labels["i"] == "7" && sample.timestampMs == t0 + 7 + 15_000 * 100 ? "out of order sample" : nil
        }
        try await withTarget(refusing) { dir, url, _, _ in
            let error = await #expect(throws: ImportError.self) { try await importing(dir, url) }
            #expect(error?.code == .rejected)
            #expect(error?.message.contains("HTTP 400): out of order sample") == true)
            #expect(error?.message.contains("--on-reject isolate") == true)
        }
    }

    /// Prometheus 2.42, compacting out-of-order data while it is read, can end a reply with its error
    /// text instead of the next frame. The verification reads that slab again rather than failing an
    /// import that delivered everything, and counts none of the cut reply's samples twice.
    @Test func verificationReadsASlabCutOffMidReplyAgain() async throws {
        let readable = FakeRemoteReadSource(series: dataset)
        let reads = Mutex(0)
        try await withTarget(script: { request, _, target in
            guard request.uri.hasSuffix("/api/v1/read") else {
                return request.method == "POST" ? target.handle(request) : .respond(status: 404, headers: [], body: [])
            }
            let reply = readable.answer(request.body)
            guard reads.withLock({ count in defer { count += 1 }; return count }) == 1,
                  case .respond(let status, let headers, let body) = reply else { return reply }
            // Whole frames, then the text: what Prometheus' handler writes when it fails mid-reply.
            var decoder = ChunkedFrameDecoder()
            decoder.append(body)
            var frames: [[UInt8]] = []
            while let frame = try? decoder.nextFrame() { frames.append(frame) }
            let cut = frames.prefix(frames.count / 2).flatMap(ChunkedFrameDecoder.frame)
                + Array("expanding series: cannot populate chunk 8: not found\n".utf8)
            return .respond(status: status, headers: headers, body: cut)
        }) { dir, url, _, server in
            let summary = try await importing(dir, url) { $0.verifyURL = server.baseURL + "/api/v1/read" }
            #expect(summary.samplesSent == totalSamples)
            #expect(reads.withLock { $0 } == 4, "three slabs, the second read twice")
            let report = try #require(summary.verification)
            #expect(report.passed, "\(report.details)")
            #expect(report.samplesFound == totalSamples)
        }
    }

    /// A first read-back that lacks a series (a target compacting answers so) is not the verdict:
    /// everything is read back once more, and only what is missing both times is reported.
    @Test(arguments: [false, true])
    func verificationReadsBackAgainBeforeReportingAMissingSeries(missingForGood: Bool) async throws {
        let missing = dataset[7].labels
        let held = FakeRemoteReadSource(series: dataset)
        let partial = FakeRemoteReadSource(series: dataset.filter { $0.labels != missing })
        let reads = Mutex(0)
        try await withTarget(script: { request, _, target in
            guard request.uri.hasSuffix("/api/v1/read") else {
                return request.method == "POST" ? target.handle(request) : .respond(status: 404, headers: [], body: [])
            }
            let index = reads.withLock { count in defer { count += 1 }; return count }
            return (index == 1 || missingForGood ? partial : held).answer(request.body)
        }) { dir, url, _, server in
            let summary = try await importing(dir, url) {
                $0.verifyURL = server.baseURL + "/api/v1/read"
                $0.verifyRecheckSeconds = 0.05
            }
            #expect(reads.withLock { $0 } == 6, "three slabs, read back twice")
            let report = try #require(summary.verification)
            #expect(report.passed == !missingForGood)
            #expect(report.mismatches == (missingForGood ? 1 : 0))
            #expect(report.details == (missingForGood ? ["missing from the target: \(missing) (\(dataset[7].samples.count) samples)"] : []))
        }
    }

    @Test func aTargetSlowerThanTheRequestTimeoutEndsWithTheFlagToChange() async throws {
        // Far beyond the 1 s deadline, so that even event loops starved by a busy test run fire the deadline first.
        try await withTarget(script: { request, _, target in .delay(milliseconds: 600_000, then: target.handle(request)) }) { dir, url, _, _ in
            let error = await #expect(throws: ImportError.self) {
                try await importing(dir, url) {
                    $0.target.requestTimeoutSeconds = 1
                    $0.retry = RetryPolicy(maxAttempts: 2, initialDelaySeconds: 0.01, maxDelaySeconds: 0.05)
                }
            }
            #expect(error?.message.contains("did not answer within 1 s (--request-timeout)") == true, "\(error.map { "\($0)" } ?? "")")
            #expect(error?.message.contains("--batch-samples") == true)
        }
    }

    @Test func isolatesRefusedSamplesAndDeliversEveryOther() async throws {
        let bad: Set<Int64> = [t0 + 7 + 15_000 * 100, t0 + 8 + 15_000 * 500]
        let refusing = FakeRemoteWriteTarget { labels, sample in
            (labels["i"] == "7" || labels["i"] == "8") && bad.contains(sample.timestampMs) ? "too old sample" : nil
        }
        try await withTarget(refusing) { dir, url, target, _ in
            let summary = try await importing(dir, url) { $0.onReject = .isolate }
            #expect(summary.samplesRejected == 2)
            #expect(summary.samplesSent == totalSamples - 2)
            var expected = map(dataset)
            for key in expected.keys { expected[key] = expected[key]!.filter { !bad.contains($0.timestampMs) } }
            #expect(target.contents == expected)
            let rejects = try String(contentsOfFile: summary.rejectsFile!, encoding: .utf8).split(separator: "\n")
            #expect(rejects.count == 2)
            #expect(rejects.allSatisfy { $0.contains("too old sample") && $0.contains("\"status\":400") })
        }
    }

    /// A refused native histogram is isolated like a float sample and listed with its whole protobuf.
    @Test func isolatesRefusedHistogramsWithEveryField() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let histograms = HistogramHistory(seriesCount: 3, startMs: t0, endMs: t0 + hour).series()
        let floats = Array(dataset.prefix(2))
        try TestArchive.write(histograms + floats, at: dir.path + "/archive", startMs: t0, slabMs: hour, slabs: 1)
        let refusedAt = histograms[1].histograms[17]
        let kept = Mutex((floats: 0, histograms: 0))
        let server = try await ScriptedHTTPServer { request, _ in
            guard let body = try? Snappy.decompress(request.body, maxOutputBytes: 64 << 20), let write = try? WriteRequest.decode(body) else {
                return .respond(status: 400, headers: [], body: Array("undecodable".utf8))
            }
            if write.timeseries.contains(where: { $0.labels == histograms[1].labels && $0.histograms.contains(refusedAt) }) {
                return .respond(status: 400, headers: [], body: Array("out of order histogram".utf8))
            }
            kept.withLock {
                $0.floats += write.timeseries.reduce(0) { $0 + $1.samples.count }
                $0.histograms += write.timeseries.reduce(0) { $0 + $1.histograms.count }
            }
            return .respond(status: 204, headers: [], body: [])
        }
        let summary = try await importing(dir.path, server.baseURL + "/api/v1/write") { $0.onReject = .isolate }
        try await server.shutdown()
        let histogramCount = histograms.reduce(0) { $0 + $1.histograms.count }
        #expect(summary.samplesRejected == 1)
        #expect(kept.withLock { $0 } == (floats.reduce(0) { $0 + $1.samples.filter { $0.timestampMs < t0 + hour }.count }, histogramCount - 1))
        let line = try String(contentsOfFile: try #require(summary.rejectsFile), encoding: .utf8)
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        #expect(object["timestampMs"] as? Int64 == refusedAt.timestampMs)
        let encoded = try #require(Data(base64Encoded: object["histogram"] as? String ?? ""))
        var decoded = try HistogramMessage.decode(ProtoReader(Array(encoded)))
        decoded.startTimestampMs = refusedAt.startTimestampMs
        #expect(decoded == refusedAt)
    }

    /// Prometheus 2.x refuses a histogram more than an hour older than its newest sample. One sender is
    /// slow here, so the others would run hours ahead of it; every window must land before the next.
    @Test func histogramWindowsLandInOrderWhenOneSenderLags() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let histograms = HistogramHistory(seriesCount: 12, startMs: t0, endMs: t0 + 4 * hour, gaugesGoDown: false).series()
        try TestArchive.write(histograms, at: dir.path + "/archive", startMs: t0, slabMs: 4 * hour, slabs: 1)
        let slow = histograms[0].labels
        let newest = Mutex(Int64(0))
        let server = try await ScriptedHTTPServer { request, _ in
            guard let body = try? Snappy.decompress(request.body, maxOutputBytes: 64 << 20), let write = try? WriteRequest.decode(body) else {
                return .respond(status: 400, headers: [], body: Array("undecodable".utf8))
            }
            let times = write.timeseries.flatMap { $0.histograms.map(\.timestampMs) }
            let late = newest.withLock { newest in
                guard !times.contains(where: { $0 < newest - hour }) else { return true }
                newest = max(newest, times.max() ?? newest)
                return false
            }
            if late { return .respond(status: 400, headers: [], body: Array("out of bounds".utf8)) }
            let reply = ScriptedReply.respond(status: 204, headers: [], body: [])
            return write.timeseries.contains { $0.labels == slow } ? .delay(milliseconds: 40, then: reply) : reply
        }
        let summary = try await importing(dir.path, server.baseURL + "/api/v1/write") {
            $0.batchSamples = 40
            $0.concurrency = 4
        }
        try await server.shutdown()
        #expect(summary.samplesSent == histograms.reduce(0) { $0 + $1.histograms.count })
    }

    /// One grid for all of a slab's segments, from the earliest sample of any, whatever each segment spans.
    @Test func histogramWindowsFollowOneGridOverTheSlab() {
        func entry(_ min: Int64, _ max: Int64, histograms: Int, samples: Int = 10) -> Manifest.SegmentEntry {
            var summary = SegmentSummary()
            (summary.samples, summary.minTimestampMs, summary.maxTimestampMs, summary.histogramSamples) = (samples, min, max, histograms)
            return Manifest.SegmentEntry(file: "segments/000000-0000.pfs", bytes: 1, sha256: "", summary: summary)
        }
        let floats = entry(t0, t0 + 2 * hour - 1, histograms: 0), late = entry(t0 + 50 * 60_000, t0 + 70 * 60_000, histograms: 5)
        #expect(ImportPipeline.deliveryWindows([floats]) == [Int64.min..<Int64.max])
        #expect(ImportPipeline.deliveryWindows([late]) == [Int64.min..<Int64.max])
        let half = ImportPipeline.histogramWindowMs
        #expect(ImportPipeline.deliveryWindows([floats, late, entry(0, 0, histograms: 0, samples: 0)])
                == [t0..<t0 + half, t0 + half..<t0 + 2 * half, t0 + 2 * half..<t0 + 3 * half, t0 + 3 * half..<Int64.max])
    }

    /// A journal of version 1 resumes: its header is kept, and the archive is delivered in full.
    @Test func aVersion1JournalResumes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let histograms = HistogramHistory(seriesCount: 6, startMs: t0, endMs: t0 + 2 * hour, gaugesGoDown: false).series()
        try TestArchive.write(histograms, at: dir.path + "/archive", startMs: t0, slabMs: 2 * hour, slabs: 1)
        let target = FakeRemoteWriteTarget()
        let server = try await ScriptedHTTPServer { request, _ in target.handle(request) }
        let manifest = try ArchiveDirectory(root: dir.path + "/archive").readManifest()
        // The header `importing` would write, but of version 1.
        let settings = ImportConfiguration(archivePath: "", target: EndpointConfiguration(url: server.baseURL + "/api/v1/write"),
                                           batchSamples: 500, concurrency: 3)
        var old = ImportJournal.Header(archiveCreatedAt: manifest.createdAt, archiveSource: manifest.source.url,
                                       target: settings.target.redactedURL, filter: SeriesFilter.all.description,
                                       batchSamples: 500, batchBytes: settings.effectiveBatchBytes, concurrency: 3)
        old.version = 1
        try (String(decoding: try JSONEncoder.sorted.encode(old), as: UTF8.self) + "\n").write(toFile: dir.path + "/archive/prom-import.state",
                                                                                              atomically: true, encoding: .utf8)
        let summary = try await importing(dir.path, server.baseURL + "/api/v1/write")
        try await server.shutdown()
        #expect(summary.samplesSent == histograms.reduce(0) { $0 + $1.histograms.count })
        let first = try String(contentsOfFile: dir.path + "/archive/prom-import.state", encoding: .utf8).split(separator: "\n")[0]
        #expect(first.contains(#""version":1"#), "\(first)")
    }

    @Test func aFlippedByteStopsTheImportBeforeAnythingOfThatSegmentIsSent() async throws {
        try await withTarget { dir, url, target, _ in
            let manifest = try ArchiveDirectory(root: dir + "/archive").readManifest()
            let victim = manifest.segments[2]
            let path = dir + "/archive/" + victim.file
            var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: path))

            let error = await #expect(throws: ArchiveStoreError.self) { try await importing(dir, url) { $0.concurrency = 1 } }
            #expect(error?.message.contains(victim.file) == true)
            #expect(error?.message.contains("SHA-256") == true)
            let delivered = target.contents.values.reduce(0) { $0 + $1.count }
            #expect(delivered == manifest.segments[0].samples + manifest.segments[1].samples)

            // A resume that would cut batches otherwise is refused with the settings that resume it.
            let drift = await #expect(throws: ImportError.self) { try await importing(dir, url) { $0.concurrency = 2 } }
            #expect(drift?.code == .stateMismatch)
            #expect(drift?.message.contains("--concurrency 1 --batch-samples 500") == true, "\(String(describing: drift))")
            #expect(drift?.message.contains("this run asks for --concurrency 2") == true, "\(String(describing: drift))")

            // --skip-corrupt delivers everything else, names the file and still fails at the end.
            let skipping = await #expect(throws: ImportError.self) {
                try await importing(dir, url) { $0.concurrency = 1; $0.skipCorrupt = true }
            }
            #expect(skipping?.code == .corruptSegments)
            #expect(skipping?.message.contains(victim.file) == true)
            #expect(target.contents.values.reduce(0) { $0 + $1.count } == totalSamples - victim.samples)
        }
    }

    @Test func resumesFromTheJournalWithoutResendingDeliveredBatches() async throws {
        let failing = Mutex(true)
        try await withTarget(script: { request, index, target in
            if failing.withLock({ $0 }) && index >= 12 { return .respond(status: 401, headers: [], body: Array("token expired".utf8)) }
            return target.handle(request)
        }) { dir, url, target, _ in
            await #expect(throws: RemoteStorageError.self) { try await importing(dir, url) }
            let first = target.acceptedRequests
            #expect(first == 12)
            failing.withLock { $0 = false }
            let summary = try await importing(dir, url)
            #expect(summary.complete)
            #expect(summary.samplesAlreadyDelivered > 0)
            #expect(summary.samplesSent + summary.samplesAlreadyDelivered == totalSamples)
            #expect(target.contents == map(dataset))
            #expect(target.maxDeliveries == 1)
            // A third run finds nothing to do.
            let again = try await importing(dir, url)
            #expect(again.samplesSent == 0)
            #expect(again.segmentsAlreadyDone == 6)
        }
    }

    /// The figures of a resumed run count what the selection takes, in delivered segments too.
    @Test func aResumeUnderASelectionCountsOnlySelectedSamples() async throws {
        let failing = Mutex(true)
        let selection = { (c: inout ImportConfiguration) throws in
            c.filter = try SeriesFilter(selectors: [try SeriesSelector(parsing: #"{zone="a"}"#)])
            c.concurrency = 1  // one sender finishes a segment before the failure starts
        }
        let selected = dataset.filter { $0.labels["zone"] == "a" }.reduce(0) { $0 + $1.samples.count }
        try await withTarget(script: { request, index, target in
            if failing.withLock({ $0 }) && index >= 12 { return .respond(status: 401, headers: [], body: Array("token expired".utf8)) }
            return target.handle(request)
        }) { dir, url, target, _ in
            await #expect(throws: RemoteStorageError.self) { try await importing(dir, url, selection) }
            failing.withLock { $0 = false }
            let summary = try await importing(dir, url, selection)
            #expect(summary.complete)
            #expect(summary.segmentsAlreadyDone > 0)
            #expect(summary.samplesRead == totalSamples)
            #expect(summary.samplesSelected == selected)
            #expect(summary.samplesSent + summary.samplesAlreadyDelivered == selected)
            let again = try await importing(dir, url, selection)
            #expect(again.samplesSent == 0)
            #expect(again.samplesAlreadyDelivered == selected)
            #expect(again.samplesSelected == selected)
            #expect(target.contents.values.reduce(0) { $0 + $1.count } == selected)
        }
    }

    @Test func refusesAJournalOfAnotherImport() async throws {
        try await withTarget { dir, url, _, _ in
            _ = try await importing(dir, url)
            let error = await #expect(throws: ImportError.self) {
                try await importing(dir, url) { $0.filter = try SeriesFilter(selectors: [try SeriesSelector(parsing: "m1")]) }
            }
            #expect(error?.code == .stateMismatch)
            #expect(error?.message.contains("--state") == true)
        }
    }

    @Test func aReadOnlyArchiveNeedsAStateFileElsewhere() async throws {
        try await withTarget { dir, url, target, _ in
            let archive = dir + "/archive"
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: archive)
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: archive) }
            // Root ignores permission bits; only check the refusal where they apply.
            if getuid() != 0 {
                let error = await #expect(throws: ImportError.self) { try await importing(dir, url) }
                #expect(error?.code == .stateNotWritable)
            }
            let summary = try await importing(dir, url) { $0.statePath = dir + "/elsewhere.state" }
            #expect(summary.complete)
            #expect(FileManager.default.fileExists(atPath: dir + "/elsewhere.state"))
            #expect(!FileManager.default.fileExists(atPath: archive + "/prom-import.state"))
            #expect(target.contents == map(dataset))
        }
    }

    @Test func dryRunSendsNothingAndCountsEverything() async throws {
        try await withTarget { dir, url, _, server in
            let summary = try await importing(dir, url) { $0.dryRun = true }
            #expect(summary.dryRun)
            #expect(summary.samplesSelected == totalSamples)
            #expect(summary.samplesSent == 0)
            #expect(server.received.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: dir + "/archive/prom-import.state"))
        }
    }

    @Test func selectsAndRelabels() async throws {
        try await withTarget { dir, url, target, _ in
            let filter = try SeriesFilter(selectors: [try SeriesSelector(parsing: #"{zone="a",i=~"1.|2"}"#)],
                                          startMs: t0 + hour, endMs: t0 + 2 * hour,
                                          addLabels: [Label("origin", "dc1")], dropLabels: ["zone"])
            _ = try await importing(dir, url) { $0.filter = filter }
            var expected: [Labels: [Sample]] = [:]
            for series in dataset where series.labels["zone"] == "a" && (series.labels["i"]!.count == 2 && series.labels["i"]!.hasPrefix("1") || series.labels["i"] == "2") {
                expected[Labels(sorting: series.labels.labels.filter { $0.nameString != "zone" } + [Label("origin", "dc1")])] =
                    series.samples.filter { $0.timestampMs >= t0 + hour && $0.timestampMs < t0 + 2 * hour }
            }
            #expect(!expected.isEmpty)
            #expect(target.contents == expected)
        }
    }

    @Test func rateLimitHoldsTheAverage() async throws {
        try await withTarget { dir, url, _, _ in
            let started = ContinuousClock.now
            _ = try await importing(dir, url) { $0.rateLimit = 6000; $0.filter = try SeriesFilter(endMs: t0 + hour) }
            let elapsed = ContinuousClock.now - started
            // 7200 samples, 6000 of them free as the first second's burst: at least 0.15 s for the rest.
            #expect(elapsed >= .milliseconds(150))
        }
    }

    @Test func splitsKeepEverySeriesInOrder() {
        let series = [WireTimeSeries(labels: Labels(sorting: [Label("__name__", "a")]),
                                     samples: (0..<5).map { Sample(timestampMs: Int64($0), value: 1) }),
                      WireTimeSeries(labels: Labels(sorting: [Label("__name__", "b")]),
                                     samples: (0..<4).map { Sample(timestampMs: Int64($0), value: 2) })]
        let (first, second) = BatchSender.split(series)
        #expect(first.map(\.samples.count) == [4])
        #expect(second.map(\.samples.count) == [1, 4])
        #expect(first[0].samples.last!.timestampMs < second[0].samples.first!.timestampMs)
    }
}
