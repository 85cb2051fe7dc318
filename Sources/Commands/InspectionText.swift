import ArchiveFormat
import ArchiveTools
import CommandLineSupport
import FoundationEssentials
import PrometheusWire

/// The human form of `prom-archive inspect`, with a samples-per-slab chart on terminals.
enum InspectionText {
    static func sourceKindText(_ kind: String) -> String {
        switch kind {
        case "victoriametrics": "VictoriaMetrics export API"
        case "tsdb": "TSDB blocks on disk"
        case "remote-read": "remote read"
        default: kind
        }
    }

    static func render(_ f: ArchiveInspection, top: Int, chart: Bool) -> String {
        var lines = [
            "archive       \(f.archive) (\(f.complete ? "complete" : "incomplete"))",
            "source        \(f.source) (\(sourceKindText(f.sourceKind)))",
            "range         [\(TimestampText.rfc3339(f.rangeStartMs)), \(TimestampText.rfc3339(f.rangeEndMs)))"
                + (f.complete ? "" : ", covered until \(TimestampText.rfc3339(f.coveredUntilMs))"),
            "samples       \(f.samples) in \(f.series) series, first \(f.firstSampleMs.map(TimestampText.rfc3339) ?? "-"), "
                + "last \(f.lastSampleMs.map(TimestampText.rfc3339) ?? "-")",
            "histograms    " + (f.histogramSamples == 0 ? "none"
                : "\(f.histogramSamples) native-histogram samples in \(f.histogramSeries) series (counted in the samples above)"),
            "size          \(ByteSizeExpression.format(f.bytes)) in \(f.segments) segments, "
                + cFormat("%.3f bytes/sample, %.1f× smaller than 16-byte raw samples", f.bytesPerSample, f.compressionRatio),
            "slabs         \(f.slabs.count)" + (f.emptySlabs.isEmpty ? "" : ", \(f.emptySlabs.count) without samples (gaps): "
                + f.emptySlabs.prefix(20).map(String.init).joined(separator: ", ") + (f.emptySlabs.count > 20 ? ", …" : "")),
        ]
        if let shard = f.shard {
            let job = "[\(TimestampText.rfc3339(shard.jobStartMs)), \(TimestampText.rfc3339(shard.jobEndMs)))"
            lines.insert("part          \(shard.index)/\(shard.count) of a job split by \(shard.by) over \(job)"
                + (shard.metricNames.map { ": \($0.count) metric names" } ?? "") + "; prom-archive merge joins every part", at: 3)
        }
        if chart && !f.slabs.isEmpty { lines.append("samples/slab  " + sparkline(f.slabs.map(\.samples), width: 60)) }
        lines.append("top metrics by series:")
        for m in f.topMetricsBySeries { lines.append(cFormat("  %8d series %12d samples  ", m.series, m.samples) + m.name) }
        lines.append("top metrics by samples:")
        for m in f.topMetricsBySamples { lines.append(cFormat("  %12d samples %8d series  ", m.samples, m.series) + m.name) }
        lines.append("label cardinalities:")
        for l in f.labelCardinalities.prefix(top) { lines.append(cFormat("  %8d values  ", l.distinctValues) + l.name) }
        return lines.joined(separator: "\n")
    }

    /// Bars of ▁…█ for the values, bucketed to at most `width` columns; empty buckets show as a space.
    static func sparkline(_ values: [Int], width: Int) -> String {
        let bucket = max(1, (values.count + width - 1) / width)
        let sums = stride(from: 0, to: values.count, by: bucket).map { values[$0..<min($0 + bucket, values.count)].reduce(0, +) }
        let peak = sums.max() ?? 0
        let bars = Array("▁▂▃▄▅▆▇█")
        return String(sums.map { $0 == 0 || peak == 0 ? " " : bars[min(7, $0 * 8 / (peak + 1))] })
    }
}
