import ArchiveFormat
import ArchiveStore
import Logging
public import PrometheusWire
import RemoteStorageClient

/// Histograms compared by what they mean rather than how a store laid them out: a store may add
/// empty buckets to a sample when a later sample of its chunk widened the layout, and its newest
/// chunk loses its counter-reset flag when re-encoded for a read.
public enum HistogramComparison {
    /// Everything but layout and reset hint: the time, kind, schema, zero threshold, sum, counts, and
    /// each non-empty bucket by its index (integer counts made absolute, float counts as bits).
    public struct Meaning: Hashable, Sendable, CustomStringConvertible {
        public let timestampMs: Int64
        public let isFloat: Bool
        public let schema: Int32
        public let zeroThresholdBits: UInt64
        public let sumBits: UInt64
        public let countBits: UInt64
        public let zeroCountBits: UInt64
        public let positive: [Int32: UInt64]
        public let negative: [Int32: UInt64]
        public let customValueBits: [UInt64]

        public var description: String {
            "t=\(timestampMs) \(isFloat ? "float" : "int") schema=\(schema) zt=\(zeroThresholdBits) sum=\(sumBits) count=\(countBits) "
                + "zero=\(zeroCountBits) +\(positive.sorted { $0.key < $1.key }) -\(negative.sorted { $0.key < $1.key })"
        }
    }

    public static func meaning(_ h: HistogramSample) -> Meaning {
        let absolute = h.absoluteCounts
        func byIndex(_ spans: [HistogramSample.Span], _ counts: [UInt64]) -> [Int32: UInt64] {
            Dictionary(HistogramSample.nonEmptyBuckets(spans, counts).map { (Int32(truncatingIfNeeded: $0.index), $0.count) },
                       uniquingKeysWith: { $1 })
        }
        return Meaning(timestampMs: h.timestampMs, isFloat: h.counts.isFloat, schema: h.schema, zeroThresholdBits: h.zeroThresholdBits,
                       sumBits: h.sumBits, countBits: absolute.count, zeroCountBits: absolute.zeroCount,
                       positive: byIndex(h.positiveSpans, absolute.positive), negative: byIndex(h.negativeSpans, absolute.negative),
                       customValueBits: h.customValueBits)
    }

    /// Each series' histograms in canonical form (`HistogramSample.canonicalForm`), time order.
    public typealias CanonicalMap = [Labels: [[UInt8]]]

    /// Every native histogram an archive holds, canonical.
    public static func archiveHistograms(_ path: String) throws -> CanonicalMap {
        let archive = ArchiveDirectory(root: path)
        var map: CanonicalMap = [:]
        for segment in try archive.readManifest().segments {
            try archive.readSegment(segment) { series in
                if !series.histograms.isEmpty { map[series.labels, default: []] += series.histograms.map(\.canonicalForm) }
            }
        }
        return map
    }

    /// Every native histogram a remote-read endpoint returns for `[startMs, endMs)` as streamed chunks, canonical.
    public static func remoteHistograms(url: String, startMs: Int64, endMs: Int64) async throws -> CanonicalMap {
        let client = try RemoteReadClient(endpoint: EndpointConfiguration(url: url), responseTypes: [.streamedXORChunks])
        var map: CanonicalMap = [:]
        do {
            try await client.read(startMs: startMs, endMs: endMs, matchers: SeriesSelector.everySeries.matchers,
                                  logger: Logger(label: "compare")) { series in
                if !series.histograms.isEmpty { map[series.labels, default: []] += series.histograms.map(\.canonicalForm) }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return map
    }
}
