import ArchiveStore
import BlockCompression
@testable import ExportPipeline
import Foundation
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Synchronization
import Testing
import TestSupport
import ArchiveFormat

let minute: Int64 = 60_000

/// `count` series with one sample every `stepMs` over `[startMs, endMs)`; values vary so that
/// neither snappy nor the XOR chunks make them vanish.
func denseSeries(_ name: String, count: Int, from startMs: Int64, to endMs: Int64, stepMs: Int64) -> [Series] {
    (0..<count).map { i in
        Series(labels: Labels(sorting: [Label("__name__", name), Label("instance", "host-\(i)")]),
               samples: stride(from: startMs + Int64(i), to: endMs, by: Int(stepMs)).enumerated().map { n, t -> Sample in
                   let step: Int = (n * 7919 + i * 104_729) % 100_003
                   return Sample(timestampMs: t, value: Double(step) / 7.0)
               })
    }
}

/// The query range of a recorded remote-read request, as `[start, end)`.
func queryRange(_ request: RecordedRequest) throws -> (startMs: Int64, endMs: Int64) {
    let query = try ReadRequest.decode(try Snappy.decompress(request.body, maxOutputBytes: 1 << 20)).queries[0]
    return (query.startMs, query.endMsInclusive + 1)
}

/// With --max-memory at 65 MiB and one read in flight, each read may hold 1 MiB of reply data
/// (65 MiB − 48 MiB reserve − 16 MiB per read), so the target region is [0.5, 0.8] MiB.
let oneMiBBudget = ExportConfiguration.baseReserveBytes + ExportConfiguration.perReadReserveBytes + (1 << 20)

func adaptiveConfiguration(url: String, archive: String, startMs: Int64, endMs: Int64, slabMs: Int64, maxSlabMs: Int64,
                           concurrency: Int = 1, maxMemory: Int = oneMiBBudget) -> ExportConfiguration {
    ExportConfiguration(source: EndpointConfiguration(url: url, readTimeoutSeconds: 30), selectors: [.everySeries],
                        startMs: startMs, endMs: endMs, startArgument: "\(startMs)", endArgument: "\(endMs)",
                        slabWidthMs: slabMs, maxSlabWidthMs: maxSlabMs, concurrency: concurrency, maxMemoryBytes: maxMemory,
                        compressionLevel: 3, archivePath: archive,
                        retry: RetryPolicy(maxAttempts: 3, initialDelaySeconds: 0.01, maxDelaySeconds: 0.05))
}

@Suite struct AdaptiveExportTests {
    @Test func theBudgetFormulaGivesOneMiBHere() {
        let c = adaptiveConfiguration(url: "http://127.0.0.1:1/api/v1/read", archive: "/nonexistent", startMs: 0, endMs: 1,
                                      slabMs: 1, maxSlabMs: 1)
        #expect(c.readBudgetBytes == 1 << 20)
    }

    /// A SAMPLES-only source (its replies are buffered whole, so their size grows with the slab):
    /// 3 sparse hours, then a dense half hour at 20 times the rate. Slabs grow by the step while replies stay
    /// under half the budget, stop growing inside the target region, and shrink to a fraction once the
    /// replies get denser; no read ever holds more than its budget, and nothing is lost.
    @Test func slabsGrowAdditivelyAndShrinkWhenRepliesGrow() async throws {
        let start = rangeStart, sparseEnd = rangeStart + 3 * hour, end = sparseEnd + hour / 2
        let data = zip(denseSeries("sparse", count: 10, from: start, to: sparseEnd, stepMs: 1000),
                       denseSeries("sparse", count: 10, from: sparseEnd, to: end, stepMs: 50)).map { a, b in
            Series(labels: a.labels, samples: a.samples + b.samples)
        }
        let source = FakeRemoteReadSource(series: data, samplesOnly: true)
        try await withSource({ r, _ in source.answer(r.body) }) { server, dir in
            let summary = try await server.export {
                adaptiveConfiguration(url: $0, archive: dir + "/a", startMs: start, endMs: end, slabMs: minute, maxSlabMs: 2 * hour)
            }
            let slabs = try ArchiveDirectory(root: dir + "/a").readManifest().slabs
            let widths = slabs.map { $0.endMs - $0.startMs }
            // Additive increase: 1, 2, 3 minutes (10 series × 60 samples a minute stay far under 0.5 MiB).
            #expect(Array(widths.prefix(3)) == [minute, 2 * minute, 3 * minute])
            // In the sparse part a width only ever grows by exactly one step, holds, or shrinks.
            let sparse = slabs.filter { $0.endMs <= sparseEnd }.map { $0.endMs - $0.startMs }
            for (a, b) in zip(sparse, sparse.dropFirst()) { #expect(b == a + minute || b <= a, "\(sparse)") }
            let dense = slabs.filter { $0.startMs >= sparseEnd }.map { $0.endMs - $0.startMs }
            print("slab widths in seconds, sparse: \(sparse.map { $0 / 1000 }), dense: \(dense.map { $0 / 1000 }), "
                + "splits: \(summary.slabSplits), largest read: \(summary.peakReadBytes) bytes")
            let widest = sparse.max() ?? 0
            #expect(widest >= 5 * minute && widest < 60 * minute, "\(sparse)")
            // Multiplicative decrease: in the dense hour slabs are at most a quarter of the widest sparse one.
            #expect(!dense.isEmpty)
            #expect(dense.allSatisfy { $0 * 4 <= widest }, "sparse \(sparse) dense \(dense)")
            #expect(summary.peakReadBytes <= 1 << 20)
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap(data))
        }
    }

    /// A reply over the budget is abandoned as soon as that is known and the same range is read
    /// again as two halves (recursively), for buffered SAMPLES replies and for streamed chunks (one
    /// series too long to hold); the slabs in the manifest tile the range and hold every sample.
    @Test(arguments: [true, false])
    func aReplyOverTheBudgetIsReadAgainInHalves(samplesOnly: Bool) async throws {
        let start = rangeStart, end = rangeStart + hour
        // 5 series at one sample per 50 ms: 72,000 samples each, 1.15 MB as decoded samples, so even one
        // series of the hour is over 1 MiB; half an hour fits when streamed.
        let data = denseSeries("dense", count: 5, from: start, to: end, stepMs: 50)
        let source = FakeRemoteReadSource(series: data, samplesOnly: samplesOnly)
        try await withSource({ r, _ in source.answer(r.body) }) { server, dir in
            let summary = try await server.export {
                adaptiveConfiguration(url: $0, archive: dir + "/a", startMs: start, endMs: end, slabMs: hour, maxSlabMs: hour)
            }
            let ranges = try server.reads.map(queryRange)
            #expect(ranges.first.map { $0.endMs - $0.startMs } == hour)
            #expect(ranges.dropFirst().first.map { $0.startMs == start && $0.endMs == start + hour / 2 } == true, "\(ranges)")
            #expect(summary.slabSplits >= 1)
            #expect(summary.peakReadBytes <= 1 << 20)
            let slabs = try ArchiveDirectory(root: dir + "/a").readManifest().slabs
            #expect(slabs.first?.startMs == start && slabs.last?.endMs == end)
            #expect(zip(slabs, slabs.dropFirst()).allSatisfy { $0.endMs == $1.startMs })
            if !samplesOnly { #expect(slabs.map { $0.endMs - $0.startMs } == [hour / 2, hour / 2]) }
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap(data))
        }
    }

    /// A SAMPLES-only source with four reads in flight, each allowed 1 MiB of --max-memory: an hour of
    /// its data needs about 3 MB held, half an hour 1.5 MB. Without narrowing, every read would split
    /// its slab, and the width ceiling would stay below half an hour for the rest of the export; instead
    /// the export runs half as many reads, each with 18 MiB, and the slabs after the first four are
    /// whole hours again. No read holds more than its share, and nothing is lost.
    @Test func aSamplesSourceThatOverrunsGetsFewerReadsWithLargerShares() async throws {
        let start = rangeStart, end = rangeStart + 8 * hour
        let data = denseSeries("dense", count: 5, from: start, to: end, stepMs: 250)
        let source = FakeRemoteReadSource(series: data, samplesOnly: true)
        // (116 MiB − 48 MiB) / 4 − 16 MiB = 1 MiB per read; with 2 reads, 18 MiB.
        let maxMemory = ExportConfiguration.baseReserveBytes + 4 * (ExportConfiguration.perReadReserveBytes + (1 << 20))
        try await withSource({ r, _ in source.answer(r.body) }) { server, dir in
            let configuration = adaptiveConfiguration(url: server.url, archive: dir + "/a", startMs: start, endMs: end,
                                                      slabMs: hour, maxSlabMs: hour, concurrency: 4, maxMemory: maxMemory)
            #expect(configuration.readBudgetBytes == 1 << 20)
            #expect(configuration.readBudgetBytes(readsInFlight: 2) == 18 << 20)
            let notes = NoteRecorder()
            let summary = try await ExportPipeline(configuration: configuration, progress: notes, logger: Logger(label: "test")).run()
            let narrowed = notes.messages.filter { $0.contains("read(s) in flight from now on") }
            #expect(narrowed.count == 1 && narrowed[0].contains("2 read(s) in flight from now on, each with 18 MiB"), "\(narrowed)")
            let slabs = try ArchiveDirectory(root: dir + "/a").readManifest().slabs
            let widths = slabs.map { $0.endMs - $0.startMs }
            print("slab widths in minutes: \(widths.map { $0 / minute }), splits: \(summary.slabSplits), "
                + "largest read: \(summary.peakReadBytes) bytes")
            #expect(widths.suffix(4) == [hour, hour, hour, hour], "\(widths)")
            #expect(summary.slabSplits >= 4)
            #expect(summary.peakReadBytes <= 18 << 20)
            #expect(slabs.first?.startMs == start && slabs.last?.endMs == end)
            #expect(zip(slabs, slabs.dropFirst()).allSatisfy { $0.endMs == $1.startMs })
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap(data))
        }
    }

    /// The range's last slab may use the share of the reads still running plus itself, since none
    /// starts after it: here a single one-hour slab of a SAMPLES source, about 3 MB held, is read
    /// whole with 52 MiB although --concurrency 4 gives each read 1 MiB.
    @Test func theLastSlabTakesTheShareOfTheReadsStillRunning() async throws {
        let start = rangeStart, end = rangeStart + hour
        let data = denseSeries("dense", count: 5, from: start, to: end, stepMs: 250)
        let source = FakeRemoteReadSource(series: data, samplesOnly: true)
        let maxMemory = ExportConfiguration.baseReserveBytes + 4 * (ExportConfiguration.perReadReserveBytes + (1 << 20))
        try await withSource({ r, _ in source.answer(r.body) }) { server, dir in
            let summary = try await server.export {
                adaptiveConfiguration(url: $0, archive: dir + "/a", startMs: start, endMs: end, slabMs: hour, maxSlabMs: hour,
                                      concurrency: 4, maxMemory: maxMemory)
            }
            #expect(summary.slabSplits == 0)
            #expect(try server.reads.map(queryRange).map { $0.endMs - $0.startMs } == [hour])
            #expect(summary.peakReadBytes > 1 << 20 && summary.peakReadBytes <= 52 << 20)
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap(data))
        }
    }

    /// Four reads in flight whose replies come back in reverse order: the manifest still lists the
    /// slabs in time order, each committed only after every earlier one, and segment files keep their
    /// read's number.
    @Test func slabsCommitInOrderWhateverOrderTheReadsFinishIn() async throws {
        let source = FakeRemoteReadSource(series: dataset)
        let completions = Mutex<[Int64]>([])
        try await withSource({ r, index in
            // The first of every four requests waits longest.
            let delay: Int = 40 + (3 - index % 4) * 60
            let reply = source.answer(r.body)
            if let range = try? queryRange(r) {
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) {
                    completions.withLock { $0.append(range.startMs) }
                }
            }
            return .delay(milliseconds: delay, then: reply)
        }) { server, dir in
            let summary = try await server.export {
                adaptiveConfiguration(url: $0, archive: dir + "/a", startMs: rangeStart, endMs: rangeEnd, slabMs: hour / 2,
                                      maxSlabMs: hour / 2, concurrency: 4, maxMemory: 256 << 20)
            }
            #expect(summary.complete && summary.concurrency == 4)
            let finishedFirst = completions.withLock { $0 }
            #expect(finishedFirst != finishedFirst.sorted(), "the replies were meant to finish out of order")
            let manifest = try ArchiveDirectory(root: dir + "/a").readManifest()
            let expectedStarts: [Int64] = Array(stride(from: rangeStart, to: rangeEnd, by: Int(hour / 2)))
            #expect(manifest.slabs.map(\.startMs) == expectedStarts)
            #expect(manifest.slabs.map(\.index) == Array(0..<12))
            #expect(manifest.segments.map(\.file) == (0..<12).map { String(format: "segments/%06d-0000.pfs", $0) })
            #expect(try SeriesComparison.archiveContents(dir + "/a") == expectedMap())
        }
    }
}

/// Keeps the export's notes, for tests that check what the operator is told.
final class NoteRecorder: ExportProgress {
    private let notes = Mutex<[String]>([])
    var messages: [String] { notes.withLock { $0 } }
    func started(_ state: ExportProgressState) {}
    func update(_ state: ExportProgressState) {}
    func retrying(slabStartMs: Int64, attempt: Int, delaySeconds: Double, reason: String) {}
    func note(_ message: String) { notes.withLock { $0.append(message) } }
}
