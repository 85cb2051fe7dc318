import ArgumentParser
import Foundation
import Logging

/// Maps any error to one line on stderr and a non-zero exit status.
///
/// Exit statuses: 1 = the run failed (remote, archive, filesystem); 64 = bad command line (ArgumentParser).
public enum CommandFailure {
    public static func report(_ error: any Error, tool: String) -> ExitCode {
        let text = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandle.standardError.write(Data("\(tool): error: \(text)\n".utf8))
        return ExitCode.failure
    }

    /// Logging to stderr, at the level asked for; stdout stays free for machine-readable output.
    public static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Ctrl-C: every committed slab is durable, so stop at once and say how to continue.
public enum InterruptHandling {
    public static func install() {
        signal(SIGINT) { _ in
            let message = "\ninterrupted: the archive holds every slab completed so far; re-run the same command to resume\n"
            message.withCString { _ = write(STDERR_FILENO, $0, strlen($0)) }
            _exit(130)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
