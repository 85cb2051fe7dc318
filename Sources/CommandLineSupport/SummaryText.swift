import ExportPipeline
import Foundation

/// The human and JSON forms of a run's final summary.
public enum SummaryText {
    public static func export(_ s: ExportSummary) -> String {
        let range = "[\(iso(s.rangeStartMs)), \(iso(s.rangeEndMs)))"
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
        if let resumed = s.resumedFromMs { lines.append("  resumed at      \(iso(resumed))") }
        if s.retries > 0 || s.slabSplits > 0 { lines.append("  retries         \(s.retries), slab splits \(s.slabSplits)") }
        return lines.joined(separator: "\n")
    }

    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try (encoder.encode(value) + Data([0x0A])).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func iso(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = ms % 1000 == 0 ? [.withInternetDateTime] : [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
