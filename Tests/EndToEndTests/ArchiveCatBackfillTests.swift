import Foundation
import PeerHarness
import PrometheusWire
import Testing

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
