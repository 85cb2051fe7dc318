import ArchiveStore
import ExportPipeline
import Foundation
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Testing
import ArchiveFormat

/// History shared by the tests of this file: 120 series × 6 h at 15 s, ending on the last full hour.
struct SeededHistory {
    static let hourMs: Int64 = 3_600_000
    let history: SampleHistory
    let stale: Series
    let directory: TemporaryDirectory
    let openMetrics: String

    init(series: Int = 120, hours: Int64 = 6) throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let end = (now / Self.hourMs - 1) * Self.hourMs
        history = SampleHistory(seriesCount: series, startMs: end - hours * Self.hourMs, endMs: end, seed: 7)
        // Staleness markers, also first and last and back to back, and -0.0: only remote write can store these bits.
        stale = Series(labels: Labels(sorting: [Label("__name__", "e2e_stale_markers"), Label("job", "e2e")]),
                       samples: (0..<20).map { i in
                           let bits: UInt64 = [0, 5, 6, 19].contains(i) ? Sample.staleNaNBits : i == 10 ? (-0.0).bitPattern : Double(i).bitPattern
                           return Sample(timestampMs: end - hours * Self.hourMs + Int64(i) * 60_000 + 17, valueBits: bits)
                       })
        directory = try TemporaryDirectory(prefix: "promferry-e2e")
        openMetrics = directory.path + "/history.om"
        try history.writeOpenMetrics(to: openMetrics)
    }

    var startMs: Int64 { history.startMs }
    var endMs: Int64 { history.endMs }

    /// What the archive must hold: the generated history and the remote-written series, exactly.
    var expected: SeriesMap {
        var map: SeriesMap = [stale.labels: stale.samples]
        for s in history.series() { map[s.labels] = s.samples }
        return map
    }

    /// Runs prom-export from `server` over the whole seeded range into `name` (in `directory`), without
    /// the external label, quietly, with `options` added.
    func export(from server: PrometheusServer, into name: String, _ options: [String]) async throws -> (archive: String, outcome: Executables.Outcome) {
        let archive = directory.path + "/" + name
        let outcome = try await Executables.run("prom-export", ["--source-url", server.readURL, "--output", archive,
            "--start", "\(startMs)", "--end", "\(endMs)", "--drop-label", "cluster", "--quiet"] + options)
        return (archive, outcome)
    }

    func withServer<T>(_ body: (PrometheusServer) async throws -> T) async throws -> T {
        try await PrometheusServer.with(openMetricsFile: openMetrics, options: .init(externalLabels: ["cluster": "e2e-1"])) { server in
            try await RemoteWriteSeeder.write([stale], to: server.writeURL)
            return try await body(server)
        }
    }
}

@Suite(.serialized) struct PrometheusExportTests {
    @Test func theArchiveHoldsExactlyWhatPrometheusServes() async throws {
        let seeded = try SeededHistory()
        defer { seeded.directory.remove() }
        try await seeded.withServer { server in
            let archive = seeded.directory.path + "/archive"
            let configuration = ExportConfiguration(
                source: EndpointConfiguration(url: server.readURL), selectors: [.everySeries],
                startMs: seeded.startMs, endMs: seeded.endMs, startArgument: "\(seeded.startMs)", endArgument: "\(seeded.endMs)",
                slabWidthMs: 2 * SeededHistory.hourMs, dropLabels: ["cluster"], archivePath: archive)
            let summary = try await ExportPipeline(configuration: configuration, logger: Logger(label: "e2e")).run()
            #expect(summary.complete)
            #expect(summary.responseType == "streamed-xor-chunks")

            let archived = try SeriesComparison.archiveContents(archive)
            // 1. Exactly the data that went in, bit for bit (NaN payloads, ±Inf, -0.0, staleness markers, unicode labels).
            let exact = SeriesComparison.differences(expected: seeded.expected, actual: archived)
            #expect(exact.isEmpty, "\(exact.joined(separator: "\n"))")
            #expect(SeriesComparison.sampleCount(archived) == summary.samplesWritten)

            // 2. Exactly what Prometheus itself returns as SAMPLES (its own chunk decoding), minus the
            //    external label we dropped, with Prometheus 2.42's -0.0 → +0.0 SAMPLES quirk applied.
            let served = try await SeriesComparison.remoteContents(url: server.readURL, startMs: seeded.startMs, endMs: seeded.endMs)
            #expect(served.keys.allSatisfy { $0["cluster"] == "e2e-1" })
            let servedWithoutExternal = Dictionary(uniqueKeysWithValues: served.map { ($0.key.removing(names: ["cluster"]), $0.value) })
            let againstServer = SeriesComparison.differences(expected: servedWithoutExternal,
                                                             actual: SeriesComparison.asSamplesResponse(archived))
            #expect(againstServer.isEmpty, "\(againstServer.joined(separator: "\n"))")

            // 3. The manifest records the source's external labels; SHA256SUMS passes with coreutils.
            let manifest = try ArchiveDirectory(root: archive).readManifest()
            #expect(manifest.source.externalLabels == ["cluster": "e2e-1"])
            #expect(manifest.source.droppedLabels == ["cluster"])
            #expect(manifest.slabs.count == 3)
            _ = try Command.run("/bin/sh", ["-c", "cd '\(archive)' && sha256sum --quiet -c SHA256SUMS"])
        }
    }

    /// Without --slab, a remote-read export shares the range among its reads from the first slab on
    /// (`ExportConfiguration.firstSlabWidthMs`): 4 h with two reads is two slabs of 2 h, not 1 h, 1 h, 2 h.
    @Test func withoutSlabTheFirstSlabsShareTheRange() async throws {
        let seeded = try SeededHistory(series: 20, hours: 4)
        defer { seeded.directory.remove() }
        try await seeded.withServer { server in
            let (archive, outcome) = try await seeded.export(from: server, into: "spread", ["--concurrency", "2"])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let manifest = try ArchiveDirectory(root: archive).readManifest()
            #expect(manifest.slabs.map { $0.endMs - $0.startMs } == [2 * SeededHistory.hourMs, 2 * SeededHistory.hourMs])
            let exact = SeriesComparison.differences(expected: seeded.expected, actual: try SeriesComparison.archiveContents(archive))
            #expect(exact.isEmpty, "\(exact.joined(separator: "\n"))")
        }
    }

    @Test func samplesModeGivesTheSameArchiveContentAndCompactJoinsItsSlabs() async throws {
        let seeded = try SeededHistory(series: 30, hours: 2)
        defer { seeded.directory.remove() }
        try await seeded.withServer { server in
            let (archive, outcome) = try await seeded.export(from: server, into: "samples", [
                "--response-type", "samples", "--summary-json", seeded.directory.path + "/samples.json",
                "--slab", "30m", "--compact", "--log-level", "info", "--log-format", "json"])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("warning: in SAMPLES answers Prometheus before 2.44 silently cuts a series off at its first "
                + "native histogram"), "\(outcome.stderr)")
            let summary = try JSONDecoder().decode(ExportSummary.self, from: Data(contentsOf: URL(fileURLWithPath: archive + ".json")))
            #expect(summary.responseType == "samples")
            // --compact joined the slabs the reads were cut into: one 2 h slab, each series stored once.
            #expect((summary.slabsBeforeCompaction ?? 0) >= 3 && summary.archiveSlabs == 1, "\(summary)")
            #expect(outcome.stdout.contains("compacted       \(summary.slabsBeforeCompaction ?? 0) slabs into 1"), "\(outcome.stdout)")
            let manifest = try ArchiveDirectory(root: archive).readManifest()
            #expect(manifest.slabs.count == 1 && manifest.compactedFrom != nil && manifest.totalBytes == summary.archiveBytes)
            // --log-format json: one event per committed slab, with its figures, between a start and an end event.
            let events = try JSONLogLines.parse(outcome.stderr)
            let committed = events.filter { $0["message"] == "slab committed" }
            #expect(events.first?["message"] == "export started" && events.last?["message"] == "export complete", "\(events)")
            #expect(committed.count == summary.slabsBeforeCompaction && events.allSatisfy { $0["logger"] == "prom-export" })
            #expect(committed.compactMap { Int($0["samples"] ?? "") }.reduce(0, +) == summary.samplesWritten, "\(committed)")
            let verify = try await Executables.run("prom-archive", ["verify", archive])
            #expect(verify.status == 0 && verify.stdout.contains("0 problems, 0 warnings"), "\(verify.stdout)")
            // Through SAMPLES a stored -0.0 arrives as +0.0 (the source's quirk, documented); all else is exact.
            let expected = SeriesComparison.asSamplesResponse(seeded.expected)
            let differences = SeriesComparison.differences(expected: expected, actual: try SeriesComparison.archiveContents(archive))
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
            #expect(outcome.stdout.contains("bytes/sample"))
        }
    }

    /// SIGKILL the exporter at random moments until it completes, with three reads in flight; the result
    /// must equal an uninterrupted run's. With fixed slabs the slab bounds and segment bytes must be the
    /// same too; with growing slabs the bounds depend on where the kills fell, the samples may not.
    @Test(arguments: [true, false])
    func killedAndResumedExportEqualsAnUninterruptedOne(fixedSlabs: Bool) async throws {
        let seeded = try SeededHistory(series: 150, hours: 6)
        defer { seeded.directory.remove() }
        try await seeded.withServer { server in
            let arguments = { (dir: String) in
                ["--source-url", server.readURL, "--output", dir, "--start", "\(seeded.startMs)", "--end", "\(seeded.endMs)",
                 "--slab", "5m", "--max-slab", fixedSlabs ? "5m" : "15m", "--concurrency", "3", "--drop-label", "cluster", "--quiet"]
            }
            let reference = seeded.directory.path + "/reference"
            let clean = try await Executables.run("prom-export", arguments(reference))
            #expect(clean.status == 0, "\(clean.stderr)")

            let killed = seeded.directory.path + "/killed"
            let (kills, status) = try await Executables.killRepeatedly("prom-export", arguments(killed), rounds: 30,
                                                                               delayMs: fixedSlabs ? 20..<180 : 20..<120) {
                // Whenever it died, the directory is a valid archive of the slabs completed so far.
                if FileManager.default.fileExists(atPath: killed + "/manifest.json") {
                    let manifest = try ArchiveDirectory(root: killed).readManifest()
                    for segment in manifest.segments { try ArchiveDirectory(root: killed).readSegment(segment) }
                }
            }
            #expect(status == nil || status == 0)
            if status == nil {
                let last = try await Executables.run("prom-export", arguments(killed))
                #expect(last.status == 0, "\(last.stderr)")
            }
            print("kill/resume: \(kills) kills survived")
            #expect(kills >= 20)
            let expected = try SeriesComparison.archiveContents(reference)
            let actual = try SeriesComparison.archiveContents(killed)
            #expect(SeriesComparison.differences(expected: expected, actual: actual).isEmpty)
            #expect(SeriesComparison.sampleCount(actual) == SeriesComparison.sampleCount(seeded.expected))
            let a = try ArchiveDirectory(root: reference).readManifest(), b = try ArchiveDirectory(root: killed).readManifest()
            if fixedSlabs {
                // Same slabs and same segment bytes as the uninterrupted run.
                #expect(a.slabs == b.slabs)
            } else {
                // The first three reads start at 5 min; each completion lets the next read grow by 5 min.
                // The slabs still tile the range without gap or overlap.
                #expect(a.slabs.map { $0.endMs - $0.startMs }.prefix(6) == [300_000, 300_000, 300_000, 600_000, 900_000, 900_000])
                #expect(zip(b.slabs, b.slabs.dropFirst()).allSatisfy { $0.endMs == $1.startMs })
                #expect(b.slabs.first?.startMs == seeded.startMs && b.slabs.last?.endMs == seeded.endMs)
            }
            #expect(b.complete)
            _ = try Command.run("/bin/sh", ["-c", "cd '\(killed)' && sha256sum --quiet -c SHA256SUMS"])
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: killed + "/segments").filter { $0.hasSuffix(".tmp") }
            #expect(leftovers.isEmpty)
        }
    }
}
