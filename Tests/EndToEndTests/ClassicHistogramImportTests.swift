import Foundation
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Testing
import TestSupport

/// `prom-import --histograms classic`: a mixed archive of floats and native histograms into targets
/// that keep no native histograms, verified by reading it back: VictoriaMetrics 1.79 through its
/// `/api/v1/export`, and a Prometheus 2.42 without the feature flag through remote read.
@Suite(.serialized) struct ClassicHistogramImportTests {
    static let hour: Int64 = 3_600_000

    @Test func aMixedArchiveVerifiesInVictoriaMetricsAndInAPrometheusWithoutNativeHistograms() async throws {
        let now = Int64(Date().timeIntervalSince1970) * 1000
        let startMs = (now - 4 * Self.hour) / Self.hour * Self.hour
        let series = MixedArchive.series(startMs: startMs)
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let archive = dir.path + "/archive"
        try TestArchive.write(series, at: archive, startMs: startMs, slabMs: Self.hour, slabs: 3)
        let histogramCount = series.reduce(0) { $0 + $1.histograms.count }

        try await VictoriaMetricsServer.with { vm in
            let outcome = try await Executables.run("prom-import", [
                "-a", archive, "--target-url", vm.writeURL, "--histograms", "classic", "--state", dir.path + "/vm-state",
                "--verify", "--target-read-url", vm.baseURL + "/api/v1/export"])
            #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
            #expect(outcome.stdout.contains("verification    passed"), "\(outcome.stdout)")
            #expect(outcome.stdout.contains("converted       \(histogramCount) native-histogram samples"), "\(outcome.stdout)")
            // The hand-worked classic form of the integer histograms, read back independently.
            let stored = try await vm.export(startMs: startMs, endMs: startMs + 3 * Self.hour)
            func values(_ name: String, le: String? = nil) -> [Double]? {
                var labels = [Label("__name__", name), Label("job", "api")]
                if let le { labels.append(Label("le", le)) }
                return stored[Labels(sorting: labels)]?.map(\.value)
            }
            #expect(values("rpc_seconds_bucket", le: "-1.0")?.prefix(3) == [4, 4, 4])
            #expect(values("rpc_seconds_bucket", le: "0.001")?.prefix(3) == [6, 6, 6])
            #expect(values("rpc_seconds_bucket", le: "1.0")?.prefix(3) == [9, 10, 11])
            #expect(values("rpc_seconds_bucket", le: "2.0")?.prefix(3) == [10, 11, 12])
            #expect(values("rpc_seconds_count")?.prefix(3) == [10, 11, 12])
            #expect(values("rpc_seconds_sum")?.prefix(3) == [1.5, 2.5, 3.5])
            // 150 histograms and the staleness marker.
            #expect(values("rpc_seconds_count")?.count == 151)
            #expect(values("rpc_seconds_count")?.last?.bitPattern == Sample.staleNaNBits)
            // Custom bounds 0.25 and 1; the last bucket's edge is +Inf, written from the count.
            // 2^55 comes back rounded to VictoriaMetrics' 15 significant digits for large values.
            let first = try #require(values("queue_wait_seconds_bucket", le: "0.25")?.first)
            #expect(abs(first - Double(1 << 55)) <= Double(1 << 55) * 1e-14 && first != Double(1 << 55), "\(first)")
            #expect(values("queue_wait_seconds_bucket", le: "+Inf")?.count == 300)
        }

        try await PrometheusServer.with { prometheus in
            let outcome = try await Executables.run("prom-import", [
                "-a", archive, "--target-url", prometheus.writeURL, "--histograms", "classic", "--state", dir.path + "/p-state",
                "--verify", "--target-read-url", prometheus.readURL])
            #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
            #expect(outcome.stdout.contains("verification    passed"), "\(outcome.stdout)")
        }
    }

}
