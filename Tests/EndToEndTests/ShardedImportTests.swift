import ArchiveFormat
import ArchiveStore
import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport

/// `prom-import --shard I/N`: N importers of one archive, run at once into one VictoriaMetrics, deliver
/// every series exactly once between them, each keeping its own journal.
@Suite struct ShardedImportTests {
    static let start: Int64 = 1_764_892_800_000
    static let hour: Int64 = 3_600_000

    @Test func threeShardsDeliverEverySeriesOnceIntoOneTarget() async throws {
        let work = try TemporaryDirectory(prefix: "promferry-shards")
        defer { work.remove() }
        let series = SampleHistory(seriesCount: 60, startMs: Self.start, endMs: Self.start + 3 * Self.hour, intervalMs: 30_000, seed: 4).series()
        let archive = work.path + "/archive"
        try TestArchive.write(series, at: archive, startMs: Self.start, slabMs: Self.hour, slabs: 3)

        // The split is a fixed function of the labels: every series falls to one part, and no part is empty.
        let parts = Dictionary(grouping: series, by: { Shard.part(of: $0.labels, count: 3) })
        #expect(parts.keys.sorted() == [0, 1, 2], "\(parts.mapValues(\.count))")

        try await VictoriaMetricsServer.with { target in
            let outcomes = try await withThrowingTaskGroup(of: (Int, Executables.Outcome).self) { group in
                for index in 0..<3 {
                    group.addTask {
                        (index, try await Executables.run("prom-import", ["-a", archive, "--target-url", target.writeURL, "--shard", "\(index)/3", "--json"]))
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            for (index, outcome) in outcomes.sorted(by: { $0.key < $1.key }) {
                #expect(outcome.status == 0, "shard \(index): \(outcome.stderr)")
                let summary = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
                let sent = parts[index]!.reduce(0) { $0 + $1.samples.count }
                #expect(summary?["samplesSent"] as? Int == sent, "shard \(index): \(outcome.stdout)")
                #expect(FileManager.default.fileExists(atPath: archive + "/prom-import.shard-\(index)-of-3.state"))
            }
            #expect(!FileManager.default.fileExists(atPath: archive + "/prom-import.state"))
            let expected = VictoriaMetricsServer.storable(Dictionary(uniqueKeysWithValues: series.map { ($0.labels, $0.samples) }))
            let (_, differences) = try await target.readBack(expected: expected, startMs: Self.start, endMs: Self.start + 3 * Self.hour)
            #expect(differences.isEmpty, "\(differences.prefix(5))")

            // A re-run of one part resumes from its own journal and sends nothing again.
            let again = try await Executables.run("prom-import", ["-a", archive, "--target-url", target.writeURL, "--shard", "1/3", "--json"])
            #expect(again.status == 0, "\(again.stderr)")
            let summary = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
            #expect(summary?["samplesSent"] as? Int == 0, "\(again.stdout)")
        }
        // The journals are the archive's own files: verify knows them.
        let verify = try await Executables.run("prom-archive", ["verify", "-a", archive])
        #expect(verify.status == 0 && !verify.stdout.contains("unknown file"), "\(verify.stdout)")

        // Bad parts are refused on the command line.
        for bad in ["3/3", "1", "-1/3", "0/0", "a/b"] {
            let outcome = try await Executables.run("prom-import", ["-a", archive, "--target-url", "http://127.0.0.1:9/api/v1/write", "--shard", bad])
            #expect(outcome.status == 64 && outcome.stderr.contains("--shard"), "\(bad): \(outcome.stderr)")
        }
    }
}
