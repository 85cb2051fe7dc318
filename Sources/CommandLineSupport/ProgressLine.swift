import Glibc
import FoundationEssentials
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

    /// `isTerminal`: whether stderr is a terminal (asked of stderr when nil).
    public init(tool: String, isTerminal: Bool? = nil) {
        let isTerminal = isTerminal ?? (isatty(STDERR_FILENO) == 1)
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
        StandardStreams.writeError(text)
    }
}
