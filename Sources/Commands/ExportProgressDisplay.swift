import CommandLineSupport
import ExportPipeline
import FoundationEssentials
import PrometheusWire

/// Shows export progress: percent of the range, current slab, samples, rate, bytes, ETA.
final class ExportProgressDisplay: ExportProgress {
    let line = ProgressLine(tool: "prom-export")

    init() {}

    func started(_ progress: ExportProgressState) { line.draw(force: true) { Self.line(progress) } }
    func update(_ progress: ExportProgressState) { line.draw { Self.line(progress) } }
    func retrying(slabStartMs: Int64, attempt: Int, delaySeconds: Double, reason: String) {
        note(cFormat("retry %d in %.1fs: ", attempt, delaySeconds) + reason)
    }
    func note(_ message: String) { line.note(message) }
    func finish() { line.finish() }

    static func line(_ p: ExportProgressState) -> String {
        let percent = p.fractionDone * 100
        let rate = p.elapsedSeconds > 0 ? Double(p.samples) / p.elapsedSeconds : 0
        var parts = [cFormat("%5.1f%%", percent)]
        if p.readsInFlight > 0 {
            parts.append("slab \(Self.duration(p.slabWidthMs))" + (p.readsInFlight > 1 ? " ×\(p.readsInFlight)" : ""))
        }
        parts.append("\(Self.count(p.samples)) samples")
        parts.append(Self.count(Int(rate)) + "/s")
        parts.append(ByteSizeExpression.format(p.bytes))
        let doneThisRun = p.committedThroughMs - p.runStartMs
        if p.elapsedSeconds > 2, doneThisRun > 0, p.committedThroughMs < p.rangeEndMs {
            let eta = p.elapsedSeconds / Double(doneThisRun) * Double(p.rangeEndMs - p.committedThroughMs)
            if eta < 1e7 { parts.append("ETA " + Self.duration(Int64(eta * 1000))) }
        }
        return parts.joined(separator: "  ")
    }

    static func count(_ n: Int) -> String {
        switch n {
        case ..<10_000: return "\(n)"
        case ..<10_000_000: return cFormat("%.1fk", Double(n) / 1e3)
        default: return cFormat("%.1fM", Double(n) / 1e6)
        }
    }

    static func duration(_ ms: Int64) -> String {
        let seconds = ms / 1000
        if seconds >= 86_400 { return "\(seconds / 86_400)d\(seconds % 86_400 / 3600)h" }
        if seconds >= 3600 { return "\(seconds / 3600)h\(seconds % 3600 / 60)m" }
        if seconds >= 60 { return "\(seconds / 60)m\(seconds % 60)s" }
        return "\(seconds)s"
    }

}
