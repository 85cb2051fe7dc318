import ArchiveFormat
import ArchiveStore
import Foundation
import PrometheusWire

/// `prom-archive cat`: an archive's samples as text, streamed record by record (constant memory).
public enum ArchiveCat {
    public enum Format: String, Sendable, CaseIterable {
        /// OpenMetrics text, for `promtool tsdb create-blocks-from openmetrics`.
        case openmetrics
        /// One JSON object per record: labels, timestamps (ms) and values.
        case jsonl
    }

    /// What to do with staleness markers in OpenMetrics, which has no way to write them.
    public enum StaleMarkers: String, Sendable, CaseIterable {
        case skip
        case nan
    }

    public struct Counts: Sendable {
        public var records = 0
        public var samples = 0
        public var staleMarkersSkipped = 0
    }

    /// Writes every selected sample through `write`, segment by segment, in archive order.
    public static func run(_ path: String, format: Format, filter: SeriesFilter, staleMarkers: StaleMarkers = .skip,
                           write: (String) throws -> Void) throws -> Counts {
        let archive = ArchiveDirectory(root: path)
        let manifest = try archive.readManifest()
        var counts = Counts()
        for segment in manifest.segments {
            var reader = try archive.segmentReader(segment)
            while let block = try reader.nextBlock() {
                var text = ""
                for record in block {
                    guard let selected = filter.apply(record) else { continue }
                    counts.records += 1
                    switch format {
                    case .openmetrics: text += openMetrics(selected, staleMarkers: staleMarkers, counts: &counts)
                    case .jsonl:
                        text += json(selected) + "\n"
                        counts.samples += selected.samples.count
                    }
                }
                try write(text)
            }
        }
        if format == .openmetrics { try write("# EOF\n") }
        return counts
    }

    static func openMetrics(_ series: Series, staleMarkers: StaleMarkers, counts: inout Counts) -> String {
        let prefix = OpenMetricsText.linePrefix(series.labels)
        var text = ""
        for sample in series.samples {
            if sample.valueBits == Sample.staleNaNBits && staleMarkers == .skip {
                counts.staleMarkersSkipped += 1
                continue
            }
            text += prefix + OpenMetricsText.number(sample.value) + " " + OpenMetricsText.seconds(sample.timestampMs) + "\n"
            counts.samples += 1
        }
        return text
    }

    static func json(_ series: Series) -> String {
        let labels = series.labels.labels.map { "\(jsonString($0.nameString)):\(jsonString($0.valueString))" }.joined(separator: ",")
        let timestamps = series.samples.map { String($0.timestampMs) }.joined(separator: ",")
        let values = series.samples.map { sample -> String in
            if sample.valueBits == Sample.staleNaNBits { return "\"StaleNaN\"" }
            return sample.value.isFinite ? OpenMetricsText.number(sample.value) : "\"\(OpenMetricsText.number(sample.value))\""
        }.joined(separator: ",")
        return "{\"labels\":{\(labels)},\"timestamps\":[\(timestamps)],\"values\":[\(values)]}"
    }

    static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

