import ExportPipeline
import Foundation
import Synchronization

/// Shows export progress on stderr: one updating line on a terminal, or a log line every few
/// seconds otherwise. stdout stays free for the summary.
public final class ExportProgressDisplay: ExportProgress {
    private struct State {
        var lastDraw = ContinuousClock.now - .seconds(60)
        var lineShown = false
    }

    private let isTerminal: Bool
    private let interval: Duration
    private let state = Mutex(State())

    public init(isTerminal: Bool = isatty(STDERR_FILENO) == 1) {
        self.isTerminal = isTerminal
        self.interval = isTerminal ? .milliseconds(200) : .seconds(5)
    }

    public func started(_ progress: ExportProgressState) {
        draw(progress, force: true)
    }

    public func update(_ progress: ExportProgressState) {
        draw(progress, force: false)
    }

    public func retrying(slabStartMs: Int64, attempt: Int, delaySeconds: Double, reason: String) {
        note(String(format: "retry %d in %.1fs: %@", attempt, delaySeconds, reason))
    }

    public func note(_ message: String) {
        state.withLock { state in
            if state.lineShown { Self.write("\n"); state.lineShown = false }
            Self.write("prom-export: \(message)\n")
        }
    }

    /// Ends the updating line so that what follows starts on its own line.
    public func finish() {
        state.withLock { state in
            if state.lineShown { Self.write("\n"); state.lineShown = false }
        }
    }

    private func draw(_ progress: ExportProgressState, force: Bool) {
        let now = ContinuousClock.now
        state.withLock { state in
            guard force || now - state.lastDraw >= interval else { return }
            state.lastDraw = now
            let line = Self.line(progress)
            if isTerminal {
                Self.write("\r\u{1B}[2K" + line)
                state.lineShown = true
            } else {
                Self.write("prom-export: " + line + "\n")
            }
        }
    }

    static func line(_ p: ExportProgressState) -> String {
        let percent = p.fractionDone * 100
        let rate = p.elapsedSeconds > 0 ? Double(p.samples) / p.elapsedSeconds : 0
        var parts = [String(format: "%5.1f%%", percent)]
        if let slab = p.currentSlab {
            parts.append("slab \(Self.shortTime(slab.startMs)) +\(Self.duration(slab.endMs - slab.startMs))")
        }
        parts.append("\(Self.count(p.samples)) samples")
        parts.append(String(format: "%@/s", Self.count(Int(rate))))
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
        case ..<10_000_000: return String(format: "%.1fk", Double(n) / 1e3)
        default: return String(format: "%.1fM", Double(n) / 1e6)
        }
    }

    static func duration(_ ms: Int64) -> String {
        let seconds = ms / 1000
        if seconds >= 86_400 { return "\(seconds / 86_400)d\(seconds % 86_400 / 3600)h" }
        if seconds >= 3600 { return "\(seconds / 3600)h\(seconds % 3600 / 60)m" }
        if seconds >= 60 { return "\(seconds / 60)m\(seconds % 60)s" }
        return "\(seconds)s"
    }

    static func shortTime(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
