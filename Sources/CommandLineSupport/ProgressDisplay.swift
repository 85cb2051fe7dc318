import ExportPipeline
import Foundation
import Synchronization

/// One progress line on stderr: redrawn in place on a terminal, or logged every few seconds
/// otherwise. stdout stays free for the summary.
public final class ProgressLine: Sendable {
    private struct State {
        var lastDraw = ContinuousClock.now - .seconds(60)
        var lineShown = false
    }

    private let tool: String
    private let isTerminal: Bool
    private let interval: Duration
    private let state = Mutex(State())

    public init(tool: String, isTerminal: Bool = isatty(STDERR_FILENO) == 1) {
        self.tool = tool
        self.isTerminal = isTerminal
        self.interval = isTerminal ? .milliseconds(200) : .seconds(5)
    }

    /// Shows `line()` if the last redraw is old enough (or `force`).
    public func draw(force: Bool = false, _ line: () -> String) {
        let now = ContinuousClock.now
        state.withLock { state in
            guard force || now - state.lastDraw >= interval else { return }
            state.lastDraw = now
            if isTerminal {
                Self.write("\r\u{1B}[2K" + line())
                state.lineShown = true
            } else {
                Self.write("\(tool): " + line() + "\n")
            }
        }
    }

    /// A message on its own line (the progress line, if any, is ended first).
    public func note(_ message: String) {
        state.withLock { state in
            if state.lineShown { Self.write("\n"); state.lineShown = false }
            Self.write("\(tool): \(message)\n")
        }
    }

    /// Ends the updating line so that what follows starts on its own line.
    public func finish() {
        state.withLock { state in
            if state.lineShown { Self.write("\n"); state.lineShown = false }
        }
    }

    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// Shows export progress: percent of the range, current slab, samples, rate, bytes, ETA.
public final class ExportProgressDisplay: ExportProgress {
    public let line = ProgressLine(tool: "prom-export")

    public init() {}

    public func started(_ progress: ExportProgressState) { line.draw(force: true) { Self.line(progress) } }
    public func update(_ progress: ExportProgressState) { line.draw { Self.line(progress) } }
    public func retrying(slabStartMs: Int64, attempt: Int, delaySeconds: Double, reason: String) {
        note(String(format: "retry %d in %.1fs: %@", attempt, delaySeconds, reason))
    }
    public func note(_ message: String) { line.note(message) }
    public func finish() { line.finish() }

    static func line(_ p: ExportProgressState) -> String {
        let percent = p.fractionDone * 100
        let rate = p.elapsedSeconds > 0 ? Double(p.samples) / p.elapsedSeconds : 0
        var parts = [String(format: "%5.1f%%", percent)]
        if p.readsInFlight > 0 {
            parts.append("slab \(Self.duration(p.slabWidthMs))" + (p.readsInFlight > 1 ? " ×\(p.readsInFlight)" : ""))
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

}
