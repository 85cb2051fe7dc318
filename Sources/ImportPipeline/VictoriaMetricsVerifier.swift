import ArchiveFormat
import ArchiveStore
import Logging
import PrometheusWire
import RemoteStorageClient

/// `--verify` against VictoriaMetrics, which has no remote read: the imported range is read back
/// through its `/api/v1/export`, slab by slab, and compared sample by sample with the archive
/// under VictoriaMetrics' storage rules:
/// - every NaN but the staleness marker is dropped on ingestion, and -0.0 is stored as 0;
/// - values are stored as decimals of about 12 significant digits (`lib/decimal`, with one exponent
///   per stored block), so a value may come back changed in its last digits; values agree when their
///   bits do, or when they differ by at most `relativeTolerance` of the larger magnitude;
/// - native histograms are acknowledged and discarded (1.79), so any that the import sent is reported
///   missing, naming histograms as the cause;
/// - timestamps and the number of samples must match exactly (a deduplicating VictoriaMetrics,
///   `-dedup.minScrapeInterval`, keeps fewer and is reported).
///
/// Memory holds one slab's expected samples and what the target returns for that slab.
struct VictoriaMetricsVerifier {
    let archive: ArchiveDirectory
    let manifest: Manifest
    let filter: SeriesFilter
    let readEndpoint: EndpointConfiguration
    let retry: RetryPolicy
    let progress: any ImportProgress
    var recheckDelaySeconds: Double
    let logger: Logger

    /// VictoriaMetrics' decimal conversion keeps a relative error below 1e-12 (`conversionPrecision`);
    /// ten times that leaves room for the scaling to one exponent per block.
    static let relativeTolerance = 1e-11

    func run() async throws -> VerificationReport {
        let first = try await check()
        guard !first.passed, recheckDelaySeconds > 0 else { return first }
        // VictoriaMetrics makes new series searchable a few seconds after it acknowledged them.
        progress.note("verifying: \(first.mismatches) series differ from the archive; reading everything back once more in "
            + "\(Int(recheckDelaySeconds)) s, as VictoriaMetrics shows newly written series only after a delay")
        try await Task.sleep(for: .milliseconds(Int64(recheckDelaySeconds * 1000)))
        return try await check()
    }

    /// What one series of the archive becomes in VictoriaMetrics.
    struct Expected {
        var samples: [Sample] = []
        var histograms = 0
    }

    private func check() async throws -> VerificationReport {
        let client = try VictoriaMetricsExportClient(endpoint: readEndpoint)
        var tally = Tally()
        do {
            await client.flush(logger: logger)
            let selector = "{" + (["__name__!=\"\""] + filter.addLabels.map { "\($0.nameString)=\"\(OpenMetricsText.escape($0.valueString))\"" })
                .joined(separator: ",") + "}"
            for slab in manifest.slabs {
                let start = max(slab.startMs, filter.startMs ?? .min), end = min(slab.endMs, filter.endMs ?? .max)
                guard start < end else { continue }
                var expected: [Labels: Expected] = [:]
                try TargetVerifier.expectedSeries(of: slab.segments, in: archive, filter: filter) { series in
                    var entry = expected[series.labels, default: Expected()]
                    entry.histograms += series.histograms.count
                    for sample in series.samples where !sample.value.isNaN || sample.valueBits == Sample.staleNaNBits {
                        entry.samples.append(sample.valueBits == (-0.0).bitPattern ? Sample(timestampMs: sample.timestampMs, value: 0) : sample)
                    }
                    expected[series.labels] = entry
                }
                guard !expected.isEmpty else { continue }
                let actual: [Labels: [Sample]]
                do {
                    actual = try await retry.run(onRetry: { attempt, delay, error in
                        progress.retrying(attempt: attempt, delaySeconds: delay, reason: "verifying: \(error.message)")
                    }) { _ in
                        try await client.read(startMs: start, endMs: end, selector: selector, logger: logger)
                    }
                } catch let error as RemoteStorageError where error.isRetryable {
                    throw TargetVerifier.gaveUp(start: start, end: end, attempts: retry.maxAttempts, error)
                }
                for (labels, want) in expected.sorted(by: { $0.key < $1.key }) {
                    tally.add(labels, want, actual[labels], slab: start..<end)
                }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return tally.report
    }

    /// Series compared so far.
    struct Tally {
        var series: [Labels: (expected: Int, found: Int)] = [:]
        var failing: Set<Labels> = []
        var details: [String] = []

        /// Adds one slab's part of a series; a series is reported once, at its first difference.
        mutating func add(_ labels: Labels, _ want: Expected, _ got: [Sample]?, slab: Range<Int64>) {
            let got = got ?? []
            series[labels, default: (0, 0)].expected += want.samples.count + want.histograms
            series[labels, default: (0, 0)].found += got.count
            if !failing.contains(labels), let problem = Self.problem(labels, want, got, slab: slab) {
                failing.insert(labels)
                if details.count < 50 { details.append(problem) }
            }
        }

        static func problem(_ labels: Labels, _ want: Expected, _ got: [Sample], slab: Range<Int64>) -> String? {
            let range = "in [\(TimestampText.rfc3339(slab.lowerBound)), \(TimestampText.rfc3339(slab.upperBound)))"
            if want.histograms > 0 {
                return "\(labels): \(want.histograms) native histograms missing from the target: VictoriaMetrics acknowledges "
                    + "native histograms and discards them; import with --histograms classic (or drop)"
            }
            if got.isEmpty && !want.samples.isEmpty { return "missing from the target: \(labels) (\(want.samples.count) samples \(range))" }
            if got.count != want.samples.count {
                return "\(labels): target holds \(got.count) samples \(range), the archive \(want.samples.count)"
                    + (got.count < want.samples.count ? " (a VictoriaMetrics with -dedup.minScrapeInterval keeps fewer)" : "")
            }
            for (a, b) in zip(want.samples, got) where !Self.agree(a, b) {
                return "\(labels): at \(TimestampText.rfc3339(a.timestampMs)) the archive holds "
                    + "\(OpenMetricsText.number(a.value)), the target \(b.timestampMs == a.timestampMs ? "" : "at \(TimestampText.rfc3339(b.timestampMs)) ")"
                    + "\(OpenMetricsText.number(b.value))"
            }
            return nil
        }

        /// Same timestamp, and the same bits or values within VictoriaMetrics' decimal precision.
        static func agree(_ a: Sample, _ b: Sample) -> Bool {
            guard a.timestampMs == b.timestampMs else { return false }
            if a.valueBits == b.valueBits { return true }
            let x = a.value, y = b.value
            guard x.isFinite, y.isFinite else { return false }
            return (x - y).magnitude <= relativeTolerance * max(x.magnitude, y.magnitude)
        }

        var report: VerificationReport {
            VerificationReport(seriesExpected: series.count, samplesExpected: series.values.reduce(0) { $0 + $1.expected },
                               seriesFound: series.values.count { $0.found > 0 }, samplesFound: series.values.reduce(0) { $0 + $1.found },
                               mismatches: failing.count, details: details)
        }
    }
}
