import ArchiveFormat
import ArchiveStore
import Logging
public import PrometheusWire
import RemoteStorageClient

/// Series keyed by labels, for comparing what two places hold.
public typealias SeriesMap = [Labels: [Sample]]

public enum SeriesComparison {
    /// Everything an archive holds, after checking every segment against the manifest.
    /// Memory grows with the archive: for tests and the demo only.
    public static func archiveContents(_ path: String) throws -> SeriesMap {
        let archive = ArchiveDirectory(root: path)
        let manifest = try archive.readManifest()
        var map: SeriesMap = [:]
        for segment in manifest.segments {
            try archive.readSegment(segment) { series in
                // Float samples only (`HistogramComparison` reads the histograms).
                if !series.samples.isEmpty { map[series.labels, default: []] += series.samples }
            }
        }
        return map
    }

    /// Everything a remote-read endpoint returns for `[startMs, endMs)`, asked as SAMPLES so that the
    /// server decodes its own chunks (an independent oracle for the XOR decoder).
    public static func remoteContents(url: String, matchers: [LabelMatcher] = SeriesSelector.everySeries.matchers,
                                      startMs: Int64, endMs: Int64,
                                      responseTypes: [ResponseType] = [.samples]) async throws -> SeriesMap {
        let client = try RemoteReadClient(endpoint: EndpointConfiguration(url: url), responseTypes: responseTypes)
        var map: SeriesMap = [:]
        do {
            try await client.read(startMs: startMs, endMs: endMs, matchers: matchers, logger: Logger(label: "compare")) { series in
                if !series.samples.isEmpty { map[series.labels, default: []] += series.samples }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return map
    }

    /// Every difference between `expected` and `actual`, compared bit for bit, as readable lines
    /// (at most `limit`). Empty when they are equal.
    public static func differences(expected: SeriesMap, actual: SeriesMap, limit: Int = 20) -> [String] {
        var lines: [String] = []
        for (labels, samples) in expected.sorted(by: { $0.key < $1.key }) {
            guard lines.count < limit else { break }
            guard let other = actual[labels] else { lines.append("missing series \(labels)"); continue }
            if other.count != samples.count {
                lines.append("series \(labels): \(other.count) samples, expected \(samples.count)")
            }
            for (a, b) in zip(samples, other) where a != b {
                lines.append("series \(labels): sample (\(b.timestampMs), 0x\(String(b.valueBits, radix: 16))), "
                    + "expected (\(a.timestampMs), 0x\(String(a.valueBits, radix: 16)))")
                break
            }
        }
        for labels in actual.keys where expected[labels] == nil && lines.count < limit {
            lines.append("unexpected series \(labels)")
        }
        return lines
    }

    public static func sampleCount(_ map: SeriesMap) -> Int { map.values.reduce(0) { $0 + $1.count } }

    /// Applies Prometheus 2.42's SAMPLES quirk: a value that compares equal to 0 is omitted on the
    /// wire and comes back as +0.0, so a stored -0.0 reads back as +0.0 through SAMPLES.
    public static func asSamplesResponse(_ map: SeriesMap) -> SeriesMap {
        map.mapValues { samples in
            samples.map { $0.valueBits == (-0.0).bitPattern ? Sample(timestampMs: $0.timestampMs, valueBits: 0) : $0 }
        }
    }
}
