public import ArchiveFormat
import ArchiveStore
import PrometheusWire

/// `prom-archive inspect`: what an archive holds, read from every segment.
public struct ArchiveInspection: Codable, Sendable {
    public struct Slab: Codable, Sendable {
        public var index: Int
        public var startMs: Int64
        public var endMs: Int64
        public var series: Int
        public var samples: Int
        public var bytes: Int
    }

    public struct MetricFigures: Codable, Sendable {
        public var name: String
        public var series: Int
        public var samples: Int
    }

    public struct LabelFigures: Codable, Sendable {
        public var name: String
        public var distinctValues: Int
    }

    public var archive: String
    /// The source's URL (credentials removed) and kind (`remote-read` or `victoriametrics`), from the manifest.
    public var source: String
    public var sourceKind: String
    public var complete: Bool
    public var rangeStartMs: Int64
    public var rangeEndMs: Int64
    /// Where the completed slabs end (equals `rangeEndMs` when complete).
    public var coveredUntilMs: Int64
    public var firstSampleMs: Int64?
    public var lastSampleMs: Int64?
    public var slabs: [Slab]
    /// Slabs that hold no sample at all.
    public var emptySlabs: [Int]
    public var series: Int
    public var samples: Int
    /// Of those, the series holding native histograms, and the histogram samples.
    public var histogramSeries: Int
    public var histogramSamples: Int
    public var segments: Int
    public var bytes: Int
    public var bytesPerSample: Double
    /// 16 bytes per raw sample (timestamp and value) against the archive's bytes.
    public var compressionRatio: Double
    public var topMetricsBySeries: [MetricFigures]
    public var topMetricsBySamples: [MetricFigures]
    public var labelCardinalities: [LabelFigures]
    /// The part of a split export this archive is (`prom-export --shard`), when it is one.
    public var shard: Manifest.ShardPart?
}

public enum ArchiveInspector {
    /// Bounds on the names inspect keeps (an archive may be hostile): names are cut to 256 characters,
    /// and past 100 000 distinct ones the rest are counted together as "(other names)".
    static let maxNameCharacters = 256
    static let maxNames = 100_000

    static func tracked<Value>(_ name: String, among table: [String: Value]) -> String {
        let key = name.count > maxNameCharacters ? String(name.prefix(maxNameCharacters)) + "…" : name
        return table[key] != nil || table.count < maxNames ? key : "(other names)"
    }

    /// Reads every segment (checking each against the manifest) and gathers the figures.
    public static func inspect(_ path: String, top topCount: Int = 10) throws -> ArchiveInspection {
        let archive = ArchiveDirectory(root: path)
        let manifest = try archive.readManifest()
        var series = Set<Fingerprint>()
        var histogramSeries = Set<Fingerprint>()
        var histogramSamples = 0
        var metricSeries: [String: Int] = [:]
        var metricSamples: [String: Int] = [:]
        var labelValues: [String: Set<Fingerprint>] = [:]
        var slabs: [ArchiveInspection.Slab] = []
        var first: Int64?
        var last: Int64?
        for slab in manifest.slabs {
            var slabSeries = Set<Fingerprint>()
            for segment in slab.segments {
                try archive.readSegment(segment) { record in
                    let name = tracked(record.labels.metricName ?? "", among: metricSamples)
                    let fingerprint = Fingerprint(record.labels)
                    if series.insert(fingerprint).inserted {
                        metricSeries[name, default: 0] += 1
                        for label in record.labels.labels where label.nameString != "__name__" {
                            labelValues[tracked(label.nameString, among: labelValues), default: []].insert(Fingerprint(label.value))
                        }
                    }
                    slabSeries.insert(fingerprint)
                    metricSamples[name, default: 0] += record.sampleCount
                    if !record.histograms.isEmpty {
                        histogramSeries.insert(fingerprint)
                        histogramSamples += record.histograms.count
                    }
                    first = min(first ?? .max, record.firstTimestampMs ?? .max)
                    last = max(last ?? .min, record.lastTimestampMs ?? .min)
                }
            }
            slabs.append(.init(index: slab.index, startMs: slab.startMs, endMs: slab.endMs, series: slabSeries.count,
                               samples: slab.samples, bytes: slab.segments.reduce(0) { $0 + $1.bytes }))
        }
        let samples = manifest.totalSamples, bytes = manifest.totalBytes
        func ranking(by counts: [String: Int]) -> [ArchiveInspection.MetricFigures] {
            let ranked: [(key: String, value: Int)] = counts.sorted { a, b in a.value != b.value ? a.value > b.value : a.key < b.key }
            return ranked.prefix(topCount).map { entry in
                ArchiveInspection.MetricFigures(name: entry.key, series: metricSeries[entry.key] ?? 0,
                                                samples: metricSamples[entry.key] ?? 0)
            }
        }
        return ArchiveInspection(
            archive: archive.root, source: manifest.source.url, sourceKind: manifest.source.kindOrRemoteRead,
            complete: manifest.complete, rangeStartMs: manifest.selection.startMs,
            rangeEndMs: manifest.selection.endMs, coveredUntilMs: manifest.resumePointMs, firstSampleMs: first, lastSampleMs: last,
            slabs: slabs, emptySlabs: slabs.filter { $0.samples == 0 }.map(\.index), series: series.count, samples: samples,
            histogramSeries: histogramSeries.count, histogramSamples: histogramSamples,
            segments: manifest.segments.count, bytes: bytes, bytesPerSample: samples == 0 ? 0 : Double(bytes) / Double(samples),
            compressionRatio: bytes == 0 ? 0 : Double(samples * 16) / Double(bytes),
            topMetricsBySeries: ranking(by: metricSeries),
            topMetricsBySamples: ranking(by: metricSamples),
            labelCardinalities: labelValues.map { .init(name: $0.key, distinctValues: $0.value.count) }
                .sorted { $0.distinctValues != $1.distinctValues ? $0.distinctValues > $1.distinctValues : $0.name < $1.name },
            shard: manifest.shard)
    }
}
