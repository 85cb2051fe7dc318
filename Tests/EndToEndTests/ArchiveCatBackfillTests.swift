import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport

@Suite(.serialized) struct ArchiveCatBackfillTests {
    /// `prom-archive cat` → `promtool tsdb create-blocks-from openmetrics` → a Prometheus started on those
    /// blocks returns exactly the archive's samples (staleness markers aside: OpenMetrics cannot carry them).
    @Test func promtoolBackfillReproducesTheArchive() async throws {
        let seeded = try SeededHistory(series: 60, hours: 4)
        defer { seeded.directory.remove() }
        let archive = seeded.directory.path + "/archive"
        try await exportedArchive(seeded, into: archive)

        let verify = try await Executables.run("prom-archive", ["verify", archive])
        #expect(verify.status == 0, "\(verify.stdout)")
        let cat = try await Executables.run("prom-archive", ["cat", archive])
        #expect(cat.status == 0, "\(cat.stderr)")
        #expect(cat.stderr.contains("skipped 4 staleness markers"))
        let openMetrics = seeded.directory.path + "/backfill.om"
        try cat.stdout.write(toFile: openMetrics, atomically: true, encoding: .utf8)

        try await PrometheusServer.with(openMetricsFile: openMetrics) { backfilled in
            let stored = try await SeriesComparison.remoteContents(url: backfilled.readURL, startMs: seeded.startMs,
                                                                   endMs: seeded.endMs, responseTypes: [.streamedXORChunks])
            let expected = try SeriesComparison.archiveContents(archive)
                .mapValues { $0.filter { $0.valueBits != Sample.staleNaNBits } }
            let differences = SeriesComparison.differences(expected: expected, actual: stored)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
            #expect(SeriesComparison.sampleCount(stored) == SeriesComparison.sampleCount(expected))
        }
    }

    /// `cat --histograms classic` writes native histograms as classic series that promtool backfills, and
    /// a Prometheus then serves exactly the classic form, staleness markers aside (OpenMetrics has none).
    @Test func classicHistogramsBackfillThroughPromtool() async throws {
        let startMs: Int64 = (Int64(Date().timeIntervalSince1970) * 1000 - 6 * 3_600_000) / 3_600_000 * 3_600_000
        let series = MixedArchive.series(startMs: startMs)
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let archive = dir.path + "/archive"
        try TestArchive.write(series, at: archive, startMs: startMs, slabMs: 3_600_000, slabs: 3)
        let refused = try await Executables.run("prom-archive", ["cat", archive, "--histograms", "keep"])
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(refused.stderr.contains("OpenMetrics text cannot carry native histograms; use --histograms classic"), "\(refused.stderr)")

        let cat = try await Executables.run("prom-archive", ["cat", archive, "--histograms", "classic",
                                                             "--match", "{__name__=~\"rpc_seconds|payload_bytes|queue_wait_seconds\"}"])
        #expect(cat.status == 0, "\(cat.stderr)")
        #expect(cat.stdout.contains("rpc_seconds_bucket{job=\"api\",le=\"-1.0\"} 4.0 "), "\(cat.stdout.prefix(500))")
        let openMetrics = dir.path + "/classic.om"
        try cat.stdout.write(toFile: openMetrics, atomically: true, encoding: .utf8)

        var expected: [Labels: [Sample]] = [:]
        for s in series.dropFirst() {
            var converter = ClassicHistograms(labels: s.labels)
            let inRange = s.histograms.filter { $0.timestampMs < startMs + 3 * 3_600_000 }
            for classic in try converter.convert(inRange[...]) {
                let kept = classic.samples.filter { $0.valueBits != Sample.staleNaNBits }
                if !kept.isEmpty { expected[classic.labels] = kept }
            }
        }
        #expect(expected.count == 20)
        try await PrometheusServer.with(openMetricsFile: openMetrics) { backfilled in
            let stored = try await SeriesComparison.remoteContents(url: backfilled.readURL, startMs: startMs,
                                                                   endMs: startMs + 3 * 3_600_000, responseTypes: [.streamedXORChunks])
            let differences = SeriesComparison.differences(expected: expected, actual: stored)
            #expect(differences.isEmpty, "\(differences.prefix(10).joined(separator: "\n"))")
        }
    }

    @Test func inspectReportsTheSourcesCounts() async throws {
        let seeded = try SeededHistory(series: 30, hours: 2)
        defer { seeded.directory.remove() }
        let archive = seeded.directory.path + "/archive"
        try await exportedArchive(seeded, into: archive)
        let outcome = try await Executables.run("prom-archive", ["inspect", archive, "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let figures = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as! [String: Any]
        #expect(figures["samples"] as? Int == SeriesComparison.sampleCount(seeded.expected))
        #expect(figures["series"] as? Int == seeded.expected.count)
        #expect((figures["slabs"] as? [Any])?.count == 2)
    }
}
