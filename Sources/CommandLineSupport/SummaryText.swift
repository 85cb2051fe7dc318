import ExportPipeline
import ImportPipeline
import PrometheusWire
import Foundation

/// The human and JSON forms of a run's final summary.
public enum SummaryText {
    public static func export(_ s: ExportSummary) -> String {
        let range = "[\(TimestampText.rfc3339(s.rangeStartMs)), \(TimestampText.rfc3339(s.rangeEndMs)))"
        var lines = [
            "export \(s.complete ? "complete" : "incomplete"): \(s.archive)",
            "  source          \(s.source)\(s.responseType.map { " (\($0))" } ?? "")",
            "  range           \(range)",
            "  this run        \(s.slabsWritten) slabs, \(s.seriesWritten) series, \(s.samplesWritten) samples, "
                + "\(ByteSizeExpression.format(s.bytesWritten)) in \(String(format: "%.1f", s.wallSeconds)) s "
                + "(\(Int(s.samplesPerSecond)) samples/s)",
            "  archive         \(s.archiveSlabs) slabs, \(s.archiveSamples) samples, \(ByteSizeExpression.format(s.archiveBytes)), "
                + String(format: "%.3f bytes/sample", s.archiveBytesPerSample),
        ]
        if let before = s.slabsBeforeCompaction { lines.append("  compacted       \(before) slabs into \(s.archiveSlabs)") }
        lines.append("  reads           \(s.concurrency) at once, the largest held \(ByteSizeExpression.format(s.peakReadBytes)) of reply data")
        if let resumed = s.resumedFromMs { lines.append("  resumed at      \(TimestampText.rfc3339(resumed))") }
        if s.retries > 0 || s.slabSplits > 0 { lines.append("  retries         \(s.retries), slab splits \(s.slabSplits)") }
        return lines.joined(separator: "\n")
    }

    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        try Data((json(value) + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Pretty, key-sorted JSON, as every tool prints it.
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

extension SummaryText {
    public static func `import`(_ s: ImportSummary) -> String {
        var lines = [
            "import \(s.dryRun ? "dry run" : s.complete ? "complete" : "incomplete"): \(s.archive) → \(s.target)",
            "  archive         \(s.segments) segments, \(s.samplesRead) samples read, \(s.samplesSelected) selected",
            "  \(s.dryRun ? "would send" : "sent       ")     \(s.dryRun ? s.samplesSelected : s.samplesSent) samples in "
                + "\(s.batches) batches (\(s.requests) requests) in \(String(format: "%.1f", s.wallSeconds)) s "
                + "(\(Int(s.samplesPerSecond)) samples/s)",
        ]
        if s.samplesAlreadyDelivered > 0 || s.segmentsAlreadyDone > 0 {
            lines.append("  resumed         \(s.samplesAlreadyDelivered) samples delivered by earlier runs")
        }
        if let dropped = s.histogramsDropped, dropped > 0 {
            lines.append("  DROPPED         \(dropped) native-histogram samples (--histograms drop)")
        }
        if let converted = s.histogramsConverted, converted > 0 {
            lines.append("  converted       \(converted) native-histogram samples into classic _bucket/_count/_sum series (--histograms classic)")
        }
        if s.retries > 0 || s.splits > 0 { lines.append("  retries         \(s.retries), batch splits \(s.splits)") }
        if s.samplesRejected > 0 {
            lines.append("  REFUSED         \(s.samplesRejected) samples, listed in \(s.rejectsFile ?? "?")")
        }
        if !s.segmentsSkippedCorrupt.isEmpty {
            lines.append("  SKIPPED         corrupt: \(s.segmentsSkippedCorrupt.joined(separator: ", "))")
        }
        if let v = s.verification {
            lines.append("  verification    \(v.passed ? "passed" : "FAILED"): \(v.seriesFound)/\(v.seriesExpected) series, "
                + "\(v.samplesFound)/\(v.samplesExpected) samples, \(v.mismatches) mismatches")
            for detail in v.details { lines.append("    \(detail)") }
            if !v.passed {
                lines.append("  next            a target that is still compacting can answer with a partial view (Prometheus before "
                    + "2.49 with out-of-order data: prometheus/prometheus#13115), so re-run the same command in a minute: it sends "
                    + "nothing twice and verifies again. If the same samples stay missing, the target lost samples it acknowledged: "
                    + "import again with a new --state (Prometheus ignores the samples it already holds)")
            }
        }
        if let state = s.statePath { lines.append("  state           \(state)") }
        return lines.joined(separator: "\n")
    }
}
