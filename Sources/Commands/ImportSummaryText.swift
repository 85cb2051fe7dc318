import FoundationEssentials
import PrometheusWire
import ImportPipeline

/// prom-import's final summary as text.
enum ImportSummaryText {
    static func render(_ s: ImportSummary) -> String {
        var lines = [
            "import \(s.dryRun ? "dry run" : s.complete ? "complete" : "incomplete"): \(s.archive) → \(s.target)",
            "  archive         \(s.segments) segments, \(s.samplesRead) samples read, \(s.samplesSelected) selected",
            "  \(s.dryRun ? "would send" : "sent       ")     \(s.dryRun ? s.samplesSelected : s.samplesSent) samples in "
                + "\(s.batches) batches (\(s.requests) requests) in \(cFormat("%.1f", s.wallSeconds)) s "
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
