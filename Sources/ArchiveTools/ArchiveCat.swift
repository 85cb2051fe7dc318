import ArchiveFormat
import ArchiveStore
import FoundationEssentials
public import PrometheusWire
public import Logging

/// `prom-archive cat`: an archive's samples as text, streamed record by record (constant memory).
public enum ArchiveCat {
    public enum Format: String, Sendable, CaseIterable {
        /// OpenMetrics text, for `promtool tsdb create-blocks-from openmetrics`.
        case openmetrics
        /// One JSON object per record: labels, then timestamps (ms), values and start timestamps (ms, when the
        /// source recorded any; 0 for none), or native histograms.
        case jsonl
    }

    /// What to do with staleness markers in OpenMetrics, which has no way to write them.
    public enum StaleMarkers: String, Sendable, CaseIterable {
        case skip
        case nan
    }

    public struct Counts: Sendable, Codable {
        public var records = 0
        public var samples = 0
        public var staleMarkersSkipped = 0
        /// Native-histogram samples left out (`HistogramHandling.drop`, the OpenMetrics default).
        public var histogramsSkipped = 0
        /// Native-histogram samples written as classic series.
        public var histogramsConverted = 0
    }

    /// Writes every selected sample through `write`, segment by segment, in archive order.
    public static func run(_ path: String, format: Format, filter: SeriesFilter, staleMarkers: StaleMarkers = .skip,
                           logger: Logger? = nil, write: (String) throws -> Void) throws -> Counts {
        let archive = ArchiveDirectory(root: path)
        let manifest = try archive.readManifest()
        var counts = Counts()
        for segment in manifest.segments {
            var reader = try archive.segmentReader(segment)
            while let block = try reader.nextBlock() {
                var text = ""
                for record in block {
                    counts.histogramsSkipped += filter.droppedHistograms(of: record)
                    guard let selected = filter.apply(record) else { continue }
                    try checkExpressible(selected.labels, in: format, segment: archive.path(of: segment.file))
                    var pieces = filter.pieces(of: selected)
                    while let piece = try pieces.next() {
                        for output in piece {
                            counts.records += 1
                            switch format {
                            case .openmetrics:
                                text += openMetrics(output, staleMarkers: staleMarkers, counts: &counts)
                                // OpenMetrics has no native histograms: those left in are counted, never written.
                                counts.histogramsSkipped += output.histograms.count
                            case .jsonl:
                                if !output.samples.isEmpty { text += json(output) + "\n" }
                                if !output.histograms.isEmpty { text += jsonHistograms(output) + "\n" }
                                counts.samples += output.sampleCount
                            }
                        }
                    }
                    counts.histogramsConverted += pieces.histogramsConverted
                }
                try write(text)
            }
            logger?.debug("segment written", metadata: ["segment": "\(segment.file)", "records.so.far": "\(counts.records)"])
        }
        if format == .openmetrics { try write("# EOF\n") }
        logger?.info("cat finished", metadata: [
            "archive": "\(archive.root)", "format": "\(format.rawValue)", "records": "\(counts.records)", "samples": "\(counts.samples)",
            "stale.markers.skipped": "\(counts.staleMarkersSkipped)", "histograms.skipped": "\(counts.histogramsSkipped)",
            "histograms.converted": "\(counts.histogramsConverted)"])
        return counts
    }

    static let metricNameLabel = Array("__name__".utf8)

    /// A series the output format cannot carry as it is.
    public struct Unwritable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Text formats cannot carry every label byte the archive keeps: labels must be UTF-8 for both, and
    /// OpenMetrics needs a metric name and names of its grammar. Such a series is refused, naming it,
    /// rather than written altered (invalid bytes as U+FFFD) or as output that does not parse.
    static func checkExpressible(_ labels: Labels, in format: Format, segment: String) throws {
        func refuse(_ why: String, _ fix: String) -> Unwritable {
            Unwritable(description: "\(segment): series \(labels) \(why); \(fix)")
        }
        for label in labels.labels {
            for (part, bytes) in [("name", label.name), ("value", label.value)] where String(validating: bytes, as: UTF8.self) == nil {
                throw refuse("has a label \(part) that is not valid UTF-8 (bytes \(bytes.prefix(32).map { String($0, radix: 16) }.joined(separator: " "))); "
                    + "text output would alter it", "narrow --match to leave it out, or import the archive with prom-import, which keeps every byte")
            }
        }
        guard format == .openmetrics else { return }
        func valid(_ name: [UInt8], colons: Bool) -> Bool {
            guard let first = name.first else { return false }
            func letter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || (colons && c == 58) }
            return letter(first) && name.dropFirst().allSatisfy { letter($0) || ($0 >= 48 && $0 <= 57) }
        }
        let metric = labels.labels.first { $0.name == metricNameLabel }
        guard let metric, valid(metric.value, colons: true) else {
            throw refuse(metric == nil ? "has no metric name" : "has a metric name OpenMetrics cannot write",
                         "use --format jsonl, which carries any name")
        }
        for label in labels.labels where label.name != metricNameLabel && !valid(label.name, colons: false) {
            throw refuse("has a label name (\"\(label.nameString)\") OpenMetrics cannot write", "use --format jsonl, which carries any name")
        }
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
        let starts = series.sampleStartTimestampsMs.isEmpty ? ""
            : ",\"startTimestamps\":[" + series.sampleStartTimestampsMs.map(String.init).joined(separator: ",") + "]"
        return "{\"labels\":{\(labels)},\"timestamps\":[\(timestamps)],\"values\":[\(values)]\(starts)}"
    }

    /// A float as JSON: a number when finite, else a string (`"NaN"`, `"+Inf"`, `"StaleNaN"`).
    static func jsonNumber(_ bits: UInt64) -> String {
        if bits == Sample.staleNaNBits { return "\"StaleNaN\"" }
        let value = Double(bitPattern: bits)
        return value.isFinite ? OpenMetricsText.number(value) : "\"\(OpenMetricsText.number(value))\""
    }

    /// A record of native histograms: each with its kind, reset hint, schema, zero threshold, sum, count,
    /// zero count, spans as `[offset, length]` pairs, absolute bucket counts (integer deltas summed up),
    /// custom bounds and start timestamp when it has them; a staleness marker as `{"timestampMs":…,"stale":true}`.
    static func jsonHistograms(_ series: Series) -> String {
        let labels = series.labels.labels.map { "\(jsonString($0.nameString)):\(jsonString($0.valueString))" }.joined(separator: ",")
        let hints = ["unknown", "yes", "no", "gauge"]
        let histograms = series.histograms.map { h -> String in
            var fields = ["\"timestampMs\":\(h.timestampMs)"]
            if h.startTimestampMs != 0 { fields.append("\"startTimestampMs\":\(h.startTimestampMs)") }
            fields.append("\"kind\":\"\(h.counts.isFloat ? "float" : "integer")\"")
            fields.append("\"resetHint\":\"\(hints[Int(h.resetHint.rawValue)])\"")
            if h.isStaleMarker && h.positiveSpans.isEmpty && h.negativeSpans.isEmpty {
                return "{" + (fields + ["\"stale\":true"]).joined(separator: ",") + "}"
            }
            func spans(_ spans: [HistogramSample.Span]) -> String { "[" + spans.map { "[\($0.offset),\($0.length)]" }.joined(separator: ",") + "]" }
            // Integer counts print as numbers (buckets signed, as their deltas summed up), float ones as floats.
            let absolute = h.absoluteCounts
            let isFloat = h.counts.isFloat
            let count = isFloat ? jsonNumber(absolute.count) : String(absolute.count)
            let zeroCount = isFloat ? jsonNumber(absolute.zeroCount) : String(absolute.zeroCount)
            let bucket = { (value: UInt64) in isFloat ? jsonNumber(value) : String(Int64(bitPattern: value)) }
            let positive = absolute.positive.map(bucket), negative = absolute.negative.map(bucket)
            fields += ["\"schema\":\(h.schema)", "\"zeroThreshold\":\(jsonNumber(h.zeroThresholdBits))", "\"sum\":\(jsonNumber(h.sumBits))",
                       "\"count\":\(count)", "\"zeroCount\":\(zeroCount)",
                       "\"positiveSpans\":\(spans(h.positiveSpans))", "\"positiveCounts\":[\(positive.joined(separator: ","))]",
                       "\"negativeSpans\":\(spans(h.negativeSpans))", "\"negativeCounts\":[\(negative.joined(separator: ","))]"]
            if !h.customValueBits.isEmpty { fields.append("\"customValues\":[\(h.customValueBits.map(jsonNumber).joined(separator: ","))]") }
            return "{" + fields.joined(separator: ",") + "}"
        }
        return "{\"labels\":{\(labels)},\"histograms\":[\(histograms.joined(separator: ","))]}"
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
                if scalar.value < 0x20 { out += cFormat("\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

