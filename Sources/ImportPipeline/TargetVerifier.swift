import ArchiveFormat
import ArchiveStore
import Crypto
import FoundationEssentials
import Logging
import PrometheusWire
import RemoteStorageClient

/// What `--verify` found.
public struct VerificationReport: Codable, Sendable, Equatable {
    public var seriesExpected: Int
    public var samplesExpected: Int
    public var seriesFound: Int
    public var samplesFound: Int
    public var mismatches: Int
    /// The first mismatches, readable.
    public var details: [String]
    public var passed: Bool { mismatches == 0 }
}

/// Reads the imported range back from the target and compares it with the archive, per series:
/// sample count and SHA-256 of every (timestamp, value bits) pair in order, then of every native
/// histogram's canonical form.
///
/// A 2xx is not proof of storage (a Prometheus keeps only the first of two samples with one timestamp
/// and still answers 204): this is. Series the target holds beyond the archive's are not reported.
struct TargetVerifier {
    let archive: ArchiveDirectory
    let manifest: Manifest
    let filter: SeriesFilter
    let readEndpoint: EndpointConfiguration
    /// A read that fails in a way worth retrying (a reset, a 5xx, a reply cut off) is read again
    /// whole. A target that is compacting can fail mid-reply: Prometheus 2.42 does so with
    /// out-of-order data (prometheus/prometheus#13115).
    let retry: RetryPolicy
    let progress: any ImportProgress
    /// How long to wait before reading everything back a second time when the first read-back differs.
    var recheckDelaySeconds: Double = 10
    let logger: Logger

    /// Floats and histograms are hashed apart: the archive holds a series that changes kind as
    /// alternating records, the target returns each kind in one run.
    struct Digest {
        var count = 0
        var hasher = SHA256()
        var histogramHasher = SHA256()

        mutating func add(_ series: Series) {
            count += series.sampleCount
            var bytes: [UInt8] = []
            bytes.reserveCapacity(series.samples.count * 16)
            for sample in series.samples {
                withUnsafeBytes(of: sample.timestampMs.littleEndian) { bytes += $0 }
                withUnsafeBytes(of: sample.valueBits.littleEndian) { bytes += $0 }
            }
            hasher.update(data: bytes)
            // Histograms are compared by meaning (`HistogramSample.canonicalForm`): the target may lay
            // out their empty buckets otherwise and derives reset hints itself.
            for histogram in series.histograms { histogramHasher.update(data: histogram.canonicalForm) }
        }

        var hex: String { (Array(hasher.finalize()).prefix(8) + Array(histogramHasher.finalize()).prefix(8)).map { cFormat("%02x", $0) }.joined() }
    }

    func run() async throws -> VerificationReport {
        var expected: [Labels: Digest] = [:]
        try Self.expectedSeries(of: manifest.segments, in: archive, filter: filter) { expected[$0.labels, default: Digest()].add($0) }
        let first = Self.compare(expected, with: try await readBack(expected))
        guard !first.passed, recheckDelaySeconds > 0 else { return first }
        // A target still compacting can answer with a partial view that a later read does not show
        // (prometheus/prometheus#13115); samples missing twice, some time apart, are reported.
        progress.note("verifying: \(first.mismatches) series differ from the archive; reading everything back once more in "
            + "\(Int(recheckDelaySeconds)) s, as a target that is still compacting can answer with a partial view")
        try await Task.sleep(for: .milliseconds(Int64(recheckDelaySeconds * 1000)))
        return Self.compare(expected, with: try await readBack(expected))
    }

    /// Every series of the archive's range as the target returns it, digested.
    private func readBack(_ expected: [Labels: Digest]) async throws -> [Labels: Digest] {
        let client = try RemoteReadClient(endpoint: readEndpoint)
        var actual: [Labels: Digest] = [:]
        do {
            try await client.checkReachable()
            let external = Set(await client.externalLabels(logger: logger).keys)
            let matchers = SeriesSelector.everySeries.matchers
                + filter.addLabels.map { LabelMatcher($0.nameString, .equal, $0.valueString) }
            for slab in manifest.slabs {
                let start = max(slab.startMs, filter.startMs ?? .min), end = min(slab.endMs, filter.endMs ?? .max)
                guard start < end else { continue }
                let beforeSlab = actual
                do {
                    try await retry.run(onRetry: { attempt, delay, error in
                        // What this slab's failed read added is dropped: the next read adds it again.
                        actual = beforeSlab
                        progress.retrying(attempt: attempt, delaySeconds: delay, reason: "verifying: \(error.message)")
                    }) { _ in
                        try await client.read(startMs: start, endMs: end, matchers: matchers, logger: logger) { series in
                            // The target adds its external labels to what it returns; the archive never held them.
                            var labels = series.labels
                            if !external.isEmpty, expected[labels] == nil { labels = labels.removing(names: external) }
                            guard expected[labels] != nil else { return }
                            actual[labels, default: Digest()].add(series)
                        }
                    }
                } catch let error as RemoteStorageError where error.isRetryable {
                    throw Self.gaveUp(start: start, end: end, attempts: retry.maxAttempts, error)
                }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return actual
    }

    static func gaveUp(start: Int64, end: Int64, attempts: Int, _ error: RemoteStorageError) -> ImportError {
        ImportError(.gaveUp, "verifying: reading [\(TimestampText.rfc3339(start)), \(TimestampText.rfc3339(end))) back "
            + "failed \(attempts) times; last error: \(error.message). Every sample was acknowledged: "
            + "re-run the same command to verify again (it sends nothing twice)")
    }

    /// The archive's selected series as the target is to hold them (classic histograms expanded),
    /// segment by segment, each handed to `body` in archive order.
    static func expectedSeries(of segments: [Manifest.SegmentEntry], in archive: ArchiveDirectory, filter: SeriesFilter,
                               _ body: (Series) -> Void) throws {
        for segment in segments {
            var reader = try archive.segmentReader(segment)
            while let block = try reader.nextBlock() {
                for series in block {
                    guard let selected = filter.apply(series) else { continue }
                    var pieces = filter.pieces(of: selected)
                    while let piece = try ImportPipeline.next(&pieces) { piece.forEach(body) }
                }
            }
        }
    }

    static func compare(_ expected: [Labels: Digest], with actual: [Labels: Digest]) -> VerificationReport {
        var details: [String] = []
        var mismatches = 0
        for (labels, want) in expected.sorted(by: { $0.key < $1.key }) {
            let got = actual[labels]
            let problem: String?
            if got == nil {
                problem = "missing from the target: \(labels) (\(want.count) samples)"
            } else if got!.count != want.count {
                problem = "\(labels): target holds \(got!.count) samples, the archive \(want.count)"
            } else if got!.hex != want.hex {
                problem = "\(labels): same \(want.count) samples counted, but timestamps or value bits differ"
            } else {
                problem = nil
            }
            if let problem {
                mismatches += 1
                if details.count < 50 { details.append(problem) }
            }
        }
        return VerificationReport(seriesExpected: expected.count, samplesExpected: expected.values.reduce(0) { $0 + $1.count },
                                  seriesFound: actual.count, samplesFound: actual.values.reduce(0) { $0 + $1.count },
                                  mismatches: mismatches, details: details)
    }
}
