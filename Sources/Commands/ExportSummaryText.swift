import CommandLineSupport
import ExportPipeline
import FoundationEssentials
import PrometheusWire

/// prom-export's final summary as text.
enum ExportSummaryText {
    static func render(_ s: ExportSummary) -> String {
        let range = "[\(TimestampText.rfc3339(s.rangeStartMs)), \(TimestampText.rfc3339(s.rangeEndMs)))"
        var lines = [
            "export \(s.complete ? "complete" : "incomplete"): \(s.archive)",
            "  source          \(s.source)\(s.responseType.map { " (\($0))" } ?? "")",
            "  range           \(range)",
            "  this run        \(s.slabsWritten) slabs, \(s.seriesWritten) series, \(s.samplesWritten) samples, "
                + "\(ByteSizeExpression.format(s.bytesWritten)) in \(cFormat("%.1f", s.wallSeconds)) s "
                + "(\(Int(s.samplesPerSecond)) samples/s)",
            "  archive         \(s.archiveSlabs) slabs, \(s.archiveSamples) samples, \(ByteSizeExpression.format(s.archiveBytes)), "
                + cFormat("%.3f bytes/sample", s.archiveBytesPerSample),
        ]
        if let before = s.slabsBeforeCompaction { lines.append("  compacted       \(before) slabs into \(s.archiveSlabs)") }
        lines.append("  reads           \(s.concurrency) at once, the largest held \(ByteSizeExpression.format(s.peakReadBytes)) of reply data")
        if let resumed = s.resumedFromMs { lines.append("  resumed at      \(TimestampText.rfc3339(resumed))") }
        if s.retries > 0 || s.slabSplits > 0 { lines.append("  retries         \(s.retries), slab splits \(s.slabSplits)") }
        return lines.joined(separator: "\n")
    }
}
