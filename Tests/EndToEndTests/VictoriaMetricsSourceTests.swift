import ArchiveStore
import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport
import ArchiveFormat

/// `prom-export --source-vm`: a real VictoriaMetrics 1.79 as the source, seeded through remote write
/// with counters, gauges, classic histograms, staleness markers, NaN, ±Inf, -0.0 and unicode labels
/// (120 series × 6 h); exported, then replayed into a fresh Prometheus and a fresh VictoriaMetrics.
@Suite(.serialized) struct VictoriaMetricsSourceTests {
    static let hour: Int64 = 3_600_000

    struct Seeded {
        let series: [Series]
        let startMs: Int64
        let endMs: Int64

        init() {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let end = (now / VictoriaMetricsSourceTests.hour - 1) * VictoriaMetricsSourceTests.hour
            let start = end - 6 * VictoriaMetricsSourceTests.hour
            endMs = end
            startMs = start
            let history = SampleHistory(seriesCount: 120, startMs: start, endMs: end, seed: 11)
            let stale = Series(labels: Labels(sorting: [Label("__name__", "vm_stale_markers"), Label("job", "e2e")]),
                               samples: (0..<20).map { i in
                                   let bits: UInt64 = [0, 5, 6, 19].contains(i) ? Sample.staleNaNBits : i == 10 ? (-0.0).bitPattern : Double(i).bitPattern
                                   return Sample(timestampMs: start + Int64(i) * 60_000 + 17, valueBits: bits)
                               })
            series = history.series() + [stale]
        }

        /// What VictoriaMetrics keeps of it: staleness markers, but no other NaN; -0.0 as 0.
        var storable: SeriesMap {
            VictoriaMetricsServer.storable(Dictionary(uniqueKeysWithValues: series.map { ($0.labels, $0.samples) }))
        }
    }

    @Test func theArchiveHoldsWhatVictoriaMetricsHoldsAndReplaysExactly() async throws {
        let seeded = Seeded()
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let archive = dir.path + "/archive"
        try await VictoriaMetricsServer.with { source in
            try await RemoteWriteSeeder.write(seeded.series, to: source.writeURL)
            let (held, differences) = try await source.readBack(expected: seeded.storable, startMs: seeded.startMs, endMs: seeded.endMs - 1)
            #expect(differences.isEmpty, "\(differences)")

            let export = try await Executables.run("prom-export", [
                "--source-vm", source.baseURL, "-o", archive, "--start", "\(seeded.startMs)", "--end", "\(seeded.endMs)",
                "--slab", "1h", "--quiet", "--summary-json", dir.path + "/summary.json"])
            #expect(export.status == 0, "\(export.stderr)")
            #expect(export.stdout.contains("victoriametrics-export"), "\(export.stdout)")
            let archived = try SeriesComparison.archiveContents(archive)
            // Exactly what VictoriaMetrics returns, and that is what it was sent, within its storage rules.
            #expect(SeriesComparison.differences(expected: held, actual: archived).isEmpty)
            #expect(SeriesComparison.differences(expected: seeded.storable, actual: archived).isEmpty)
            #expect(archived[seeded.series.last!.labels]?.filter { $0.valueBits == Sample.staleNaNBits }.count == 4)
            let manifest = try ArchiveDirectory(root: archive).readManifest()
            #expect(manifest.source.kind == "victoriametrics")
            #expect(manifest.source.url == source.baseURL + "/api/v1/export")
            let inspect = try await Executables.run("prom-archive", ["inspect", archive])
            #expect(inspect.stdout.contains("source        \(source.baseURL)/api/v1/export (VictoriaMetrics export API)"), "\(inspect.stdout)")

            // Into a fresh Prometheus, verified through remote read, then compared with the source.
            try await PrometheusServer.with { target in
                let outcome = try await Executables.importVerifyingPrometheus([
                    "-a", archive, "--target-url", target.writeURL, "--state", dir.path + "/p.state", "--quiet",
                    "--verify", "--target-read-url", target.readURL])
                #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
                let stored = try await SeriesComparison.remoteContents(url: target.readURL, startMs: seeded.startMs, endMs: seeded.endMs,
                                                                       responseTypes: [.streamedXORChunks])
                #expect(SeriesComparison.differences(expected: held, actual: stored).isEmpty)
            }
            // Into a fresh VictoriaMetrics, verified through its export API, then compared with the source.
            try await VictoriaMetricsServer.with { target in
                let outcome = try await Executables.run("prom-import", [
                    "-a", archive, "--target-url", target.writeURL, "--state", dir.path + "/v.state", "--quiet",
                    "--verify", "--target-read-url", target.baseURL + "/api/v1/export"])
                #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
                let (again, differences) = try await target.readBack(expected: held, startMs: seeded.startMs, endMs: seeded.endMs - 1)
                #expect(differences.isEmpty, "\(differences)")
                #expect(SeriesComparison.sampleCount(again) == SeriesComparison.sampleCount(held))
            }
        }
    }

    /// SIGKILLed at random moments and re-run until it completes, with two reads in flight: the archive
    /// equals an uninterrupted export's.
    @Test func aKilledExportResumesToTheSameArchive() async throws {
        let seeded = Seeded()
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        try await VictoriaMetricsServer.with { source in
            try await RemoteWriteSeeder.write(seeded.series, to: source.writeURL)
            _ = try await source.readBack(expected: seeded.storable, startMs: seeded.startMs, endMs: seeded.endMs - 1)
            let arguments = { (out: String) in
                ["--source-vm", source.baseURL, "-o", out, "--start", "\(seeded.startMs)", "--end", "\(seeded.endMs)",
                 "--slab", "5m", "--concurrency", "2", "--quiet"]
            }
            let reference = dir.path + "/reference"
            let clean = try await Executables.run("prom-export", arguments(reference))
            #expect(clean.status == 0, "\(clean.stderr)")
            let killed = dir.path + "/killed"
            let (kills, status) = try await Executables.killRepeatedly("prom-export", arguments(killed), rounds: 25, delayMs: 30..<250) {
                if FileManager.default.fileExists(atPath: killed + "/manifest.json") {
                    let manifest = try ArchiveDirectory(root: killed).readManifest()
                    for segment in manifest.segments { try ArchiveDirectory(root: killed).readSegment(segment) }
                }
            }
            if status == nil {
                let last = try await Executables.run("prom-export", arguments(killed))
                #expect(last.status == 0, "\(last.stderr)")
            }
            print("VictoriaMetrics export kill/resume: \(kills) kills survived")
            #expect(kills >= 10)
            let expected = try SeriesComparison.archiveContents(reference)
            #expect(SeriesComparison.differences(expected: expected, actual: try SeriesComparison.archiveContents(killed)).isEmpty)
            #expect(SeriesComparison.sampleCount(expected) == SeriesComparison.sampleCount(seeded.storable))
        }
    }

    /// A cluster's vmselect: the tenant is in the path, /api/v1/export is added, and credentials and
    /// headers go with every request, as for a remote-read source.
    @Test func aClusterTenantPathCredentialsAndHeadersReachTheSource() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let line = Array(#"{"metric":{"__name__":"up","job":"a"},"values":[1,null],"timestamps":[1700000000000,1700000015000]}"#.utf8) + [10]
        let server = try await ScriptedHTTPServer { request, _ in
            guard request.uri.hasPrefix("/select/7/prometheus/api/v1/export?"), request.header("Authorization") == "Basic dTpzM2NyM3Q=" else {
                return .respond(status: 401, headers: [], body: Array("unauthorized".utf8))
            }
            return .respond(status: 200, headers: [("Content-Type", "application/stream+json")], body: line)
        }
        do {
            try "s3cr3t\n".write(toFile: dir.path + "/password", atomically: true, encoding: .utf8)
            let outcome = try await Executables.run("prom-export", [
                "--source-vm", server.baseURL + "/select/7/prometheus/", "-o", dir.path + "/a", "--start", "1700000000000",
                "--end", "1700000060000", "--basic-auth-user", "u", "--basic-auth-password-file", dir.path + "/password",
                "--header", "X-Scope-OrgID=7", "--quiet"])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let requests = server.received.filter { $0.uri.contains("/api/v1/export") }
            #expect(!requests.isEmpty && requests.allSatisfy { $0.header("X-Scope-OrgID") == "7" })
            #expect(requests.first?.uri.contains("match%5B%5D=%7B__name__%3D~%22.%2B%22%7D") == true, "\(requests.first?.uri ?? "")")
            #expect(try SeriesComparison.archiveContents(dir.path + "/a") == [
                Labels(sorting: [Label("__name__", "up"), Label("job", "a")]):
                    [Sample(timestampMs: 1_700_000_000_000, value: 1), Sample(timestampMs: 1_700_000_015_000, valueBits: Sample.staleNaNBits)],
            ])
            // A wrong password is named, not retried forever.
            try "wrong\n".write(toFile: dir.path + "/password", atomically: true, encoding: .utf8)
            let refused = try await Executables.run("prom-export", [
                "--source-vm", server.baseURL + "/select/7/prometheus", "-o", dir.path + "/b", "--start", "1700000000000",
                "--end", "1700000060000", "--basic-auth-user", "u", "--basic-auth-password-file", dir.path + "/password", "--quiet"])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("answered HTTP 401: unauthorized; check the credentials"), "\(refused.stderr)")
        } catch {
            try await server.shutdown()
            throw error
        }
        try await server.shutdown()
    }

    @Test(arguments: [
        (["--source-vm", "http://127.0.0.1:9090/api/v1/read"], "is a remote-read or remote-write URL"),
        (["--source-url", "http://127.0.0.1:8428/api/v1/export"], "give it as --source-vm"),
        (["--source-url", "http://127.0.0.1:9090/api/v1/read", "--source-vm", "http://127.0.0.1:8428"], "exclude each other"),
        (["--source-vm", "http://127.0.0.1:8428", "--response-type", "samples"], "applies to remote read only"),
        ([], "give the source: --source-url"),
    ] as [([String], String)])
    func sourceFlagsAreCheckedAtParseTime(_ flags: [String], _ fragment: String) async throws {
        let outcome = try await Executables.run("prom-export", flags + ["-o", "/nonexistent/a", "--start", "1700000000000", "--end", "1700000060000"])
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderr.contains(fragment), "\(outcome.stderr)")
    }
}
