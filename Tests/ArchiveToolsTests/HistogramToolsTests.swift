import ArchiveFormat
import ArchiveStore
import ArchiveTools
import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport

/// The offline tools on an archive of native histograms and floats, one series changing kind.
@Suite struct HistogramToolsTests {
    static let histograms = HistogramHistory(seriesCount: 12, startMs: t0, endMs: t0 + 2 * hour).series()
    static let switching = Series(labels: Labels(sorting: [Label("__name__", "switching")]),
                                  samples: (0..<10).map { Sample(timestampMs: t0 + Int64($0) * 60_000, value: Double($0)) },
                                  histograms: Array(histograms[0].histograms.filter { $0.timestampMs >= t0 + 600_000 }.prefix(30)))
    static let all = Array(dataset.prefix(6)) + histograms + [switching]

    func withHistogramArchive(_ body: (String, TemporaryDirectory) throws -> Void) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try TestArchive.write(Self.all, at: dir.path + "/archive", startMs: t0, slabMs: hour, slabs: 2)
        try body(dir.path + "/archive", dir)
    }

    @Test func verifyAndInspectCountHistogramsApart() throws {
        try withHistogramArchive { path, _ in
            #expect(ArchiveVerifier.verify(path).sound)
            let figures = try ArchiveInspector.inspect(path)
            let expectedHistograms = Self.all.reduce(0) { $0 + $1.histograms.filter { $0.timestampMs < t0 + 2 * hour }.count }
            #expect(figures.histogramSamples == expectedHistograms)
            #expect(figures.histogramSeries == 13)
            #expect(figures.series == 19)
            #expect(try figures.samples == ArchiveDirectory(root: path).readManifest().totalSamples)
            // The manifest counts each segment's histograms, and that count is checked against the data.
            var manifest = try ArchiveDirectory(root: path).readManifest()
            #expect(manifest.holdsHistograms)
            #expect(manifest.segments.reduce(0) { $0 + ($1.histograms ?? 0) } == expectedHistograms)
            let index = manifest.slabs[0].segments.firstIndex { $0.histograms != nil }!
            manifest.slabs[0].segments[index].histograms! += 1
            try ArchiveDirectory(root: path).commit(manifest)
            let report = ArchiveVerifier.verify(path)
            #expect(!report.sound)
            #expect(report.errors.contains { $0.contains("footer disagrees with its manifest.json entry") }, "\(report.errors)")
        }
    }

    @Test func catPrintsHistogramsAsJSONAndSkipsThemInOpenMetrics() throws {
        try withHistogramArchive { path, _ in
            var text = ""
            let counts = try ArchiveCat.run(path, format: .jsonl, filter: try SeriesFilter(selectors: [try SeriesSelector(parsing: "switching")])) {
                text += $0
            }
            #expect(counts.samples == Self.switching.sampleCount)
            let lines = try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            let printed = lines.compactMap { $0["histograms"] as? [[String: Any]] }.flatMap { $0 }
            #expect(printed.count == Self.switching.histograms.count)
            let first = try #require(printed.first), source = Self.switching.histograms[0]
            #expect(first["timestampMs"] as? Int64 == source.timestampMs)
            #expect(first["kind"] as? String == "integer")
            #expect(first["schema"] as? Int == Int(source.schema))
            if case .integer(let count, _, let deltas, _) = source.counts {
                #expect((first["count"] as? NSNumber)?.uint64Value == count)
                var running: Int64 = 0
                #expect((first["positiveCounts"] as? [NSNumber])?.map(\.int64Value) == deltas.map { running += $0; return running })
            }
            #expect(lines.compactMap { $0["values"] as? [Any] }.flatMap { $0 }.count == Self.switching.samples.count)

            var open = ""
            let skipped = try ArchiveCat.run(path, format: .openmetrics, filter: .all) { open += $0 }
            #expect(skipped.histogramsSkipped == Self.all.reduce(0) { $0 + $1.histograms.count })
            #expect(!open.contains("rpc_duration_seconds"))
            #expect(open.contains("switching 9.0 "))
        }
    }

    @Test func splitAndMergeKeepHistograms() throws {
        try withHistogramArchive { path, dir in
            let original = try HistogramComparison.archiveHistograms(path)
            let manifest = try ArchiveDirectory(root: path).readManifest()
            let largestSlab = manifest.slabs.map { $0.segments.reduce(0) { $0 + $1.bytes } }.max()!
            let parts = try ArchiveSplitMerge.split(path, maxBytes: largestSlab + (64 << 10), into: dir.path + "/parts",
                                                    createdAt: "2024-02-02T00:00:00Z")
            #expect(parts.count == 2)
            try ArchiveSplitMerge.merge(parts, into: dir.path + "/merged", createdAt: "2024-02-03T00:00:00Z")
            #expect(ArchiveVerifier.verify(dir.path + "/merged").sound)
            #expect(try HistogramComparison.archiveHistograms(dir.path + "/merged") == original)
        }
    }
}
