import ArchiveStore
import Foundation
@testable import ImportPipeline
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Testing
import TestSupport

/// `--verify` against a real VictoriaMetrics 1.79 through `/api/v1/export`: what it changes within its
/// storage rules passes, anything else is found and named.
@Suite(.serialized) struct VictoriaMetricsVerifierTests {
    static let hour: Int64 = 3_600_000

    static func verify(_ archivePath: String, in vm: VictoriaMetricsServer, histograms: HistogramHandling) async throws -> VerificationReport {
        let archive = ArchiveDirectory(root: archivePath)
        var filter = SeriesFilter.all
        filter.histograms = histograms
        return try await VictoriaMetricsVerifier(archive: archive, manifest: try archive.readManifest(), filter: filter,
                                                 readEndpoint: EndpointConfiguration(url: vm.baseURL + "/api/v1/export"),
                                                 retry: RetryPolicy(maxAttempts: 2), progress: SilentImportProgress(),
                                                 recheckDelaySeconds: 0, logger: Logger(label: "test")).run()
    }

    @Test func whatVictoriaMetricsKeepsPassesAndEveryOtherDifferenceIsNamed() async throws {
        let now = Int64(Date().timeIntervalSince1970) * 1000
        let startMs = (now - 3 * Self.hour) / Self.hour * Self.hour
        let series = MixedArchive.series(startMs: startMs)
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        try TestArchive.write(series, at: dir.path + "/archive", startMs: startMs, slabMs: Self.hour, slabs: 2)
        // The same series with one value changed in its 10th significant digit and one sample more.
        var altered = series
        let changed = altered[0].samples[20]
        altered[0].samples[20] = Sample(timestampMs: changed.timestampMs, value: changed.value * (1 + 1e-9))
        altered[0].samples.append(Sample(timestampMs: startMs + 2 * Self.hour - 1, value: 1))
        try TestArchive.write(altered, at: dir.path + "/altered", startMs: startMs, slabMs: Self.hour, slabs: 2)

        try await VictoriaMetricsServer.with { vm in
            var configuration = ImportConfiguration(archivePath: dir.path + "/archive", target: EndpointConfiguration(url: vm.writeURL))
            configuration.filter.histograms = .drop
            configuration.statePath = dir.path + "/state"
            _ = try await ImportPipeline(configuration: configuration, logger: Logger(label: "test")).run()
            try await vm.flush()

            // NaN dropped, -0.0 stored as 0, 17-digit decimals rounded to about 12 digits: all within the rules.
            let passing = try await Self.verify(dir.path + "/archive", in: vm, histograms: .drop)
            #expect(passing.passed, "\(passing.details)")
            // Two hours of the float series at 30 s, less its one NaN.
            let kept = series[0].samples.filter { $0.timestampMs < startMs + 2 * Self.hour && (!$0.value.isNaN || $0.valueBits == Sample.staleNaNBits) }
            #expect(kept.count == 239)
            #expect(passing.seriesExpected == 1 && passing.samplesExpected == kept.count, "\(passing)")
            // The values really did change in storage: the rules were needed.
            let stored = try await vm.export(startMs: startMs, endMs: startMs + 2 * Self.hour)
            let request = try #require(stored[series[0].labels])
            #expect(zip(request, series[0].samples.filter { !$0.value.isNaN || $0.valueBits == Sample.staleNaNBits })
                .contains { $0.valueBits != $1.valueBits && $1.valueBits != (-0.0).bitPattern })

            let failing = try await Self.verify(dir.path + "/altered", in: vm, histograms: .keep)
            #expect(!failing.passed)
            #expect(failing.mismatches == 4, "\(failing.details)")
            let details = failing.details.joined(separator: "\n")
            // Histograms: VictoriaMetrics acknowledged none of them (they were dropped here; 1.79 discards them anyway).
            #expect(details.contains("native histograms missing from the target: VictoriaMetrics acknowledges native histograms "
                + "and discards them; import with --histograms classic"), "\(details)")
            // Reported once, at its first difference: the value changed in the first slab.
            #expect(details.contains("request_size{job=\"api\"}: at ") && details.contains("the archive holds \(altered[0].samples[20].value)"),
                    "\(details)")
            #expect(failing.details.count == 4)
        }
    }

    /// A changed value alone is named with both values.
    @Test func aValueChangedBeyondTwelveDigitsIsNamedWithBothValues() throws {
        let labels = Labels(sorting: [Label("__name__", "x")])
        let slab: Range<Int64> = 0..<3_600_000
        let want = VictoriaMetricsVerifier.Expected(samples: [Sample(timestampMs: 1000, value: 1.000000001)], histograms: 0)
        let problem = VictoriaMetricsVerifier.Tally.problem(labels, want, [Sample(timestampMs: 1000, value: 1)], slab: slab)
        #expect(problem?.contains("the archive holds 1.000000001, the target 1.0") == true, "\(problem ?? "")")
        let close = VictoriaMetricsVerifier.Tally.problem(labels, want, [Sample(timestampMs: 1000, value: 1.000000001000001)], slab: slab)
        #expect(close == nil)
        let moved = VictoriaMetricsVerifier.Tally.problem(labels, want, [Sample(timestampMs: 2000, value: 1.000000001)], slab: slab)
        #expect(moved != nil)
        let fewer = VictoriaMetricsVerifier.Tally.problem(labels, want, [], slab: slab)
        #expect(fewer == "missing from the target: x (1 samples in [1970-01-01T00:00:00Z, 1970-01-01T01:00:00Z))", "\(fewer ?? "")")
        let more = VictoriaMetricsVerifier.Tally.problem(labels, want, [Sample(timestampMs: 1000, value: 1.000000001), Sample(timestampMs: 2000, value: 1)],
                                                         slab: slab)
        #expect(more?.contains("target holds 2 samples in [1970-01-01T00:00:00Z, 1970-01-01T01:00:00Z), the archive 1") == true, "\(more ?? "")")
    }
}
