public import ArgumentParser
import Glibc
import FoundationEssentials
public import Logging
import PrometheusWire

/// Maps any error to one line on stderr and a non-zero exit status.
///
/// Exit statuses: 1 = the run failed (remote, archive, filesystem); 64 = bad command line (ArgumentParser).
public enum CommandFailure {
    /// Exit status of a check that found a difference: `prom-import --verify` and `prom-archive verify`.
    public static let differenceFound: Int32 = 3

    public static func report(_ error: any Error, tool: String) -> ExitCode {
        let text = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
        StandardStreams.writeError("\(tool): error: \(text)\n")
        if let caused = error as? any CausedError, !caused.causeChain.isEmpty {
            let causes = caused.causeChain.map { "\(type(of: $0)): \($0)" }.joined(separator: " <- ")
            Logger(label: tool).debug("error causes", metadata: ["causes": "\(causes)"])
        }
        return ExitCode.failure
    }

    /// Logging to stderr, at the level asked for; stdout stays free for machine-readable output.
    public static func bootstrapLogging(level: Logger.Level, format: LogFormat = .text) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// Ctrl-C or SIGTERM (a service manager, `kill`): every committed slab and every acknowledged batch is
/// durable, so stop at once, say how to continue, and exit 130 either way.
public enum InterruptHandling {
    public static func install(tool: String) {
        let handler: @convention(c) (Int32) -> Void
        if tool == "prom-import" {
            handler = { _ in
                let message = "\ninterrupted: every acknowledged batch is journalled; re-run the same command to resume\n"
                message.withCString { _ = write(STDERR_FILENO, $0, strlen($0)) }
                _exit(130)
            }
        } else {
            handler = { _ in
                let message = "\ninterrupted: the archive holds every slab completed so far; re-run the same command to resume\n"
                message.withCString { _ = write(STDERR_FILENO, $0, strlen($0)) }
                _exit(130)
            }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension HistogramHandling: ExpressibleByArgument {}

extension AsyncParsableCommand {
    /// Like `main()`, but every error is one line on stderr: `TOOL: error: MESSAGE (see TOOL --help)`.
    /// `--help` and `--version` print as usual. Usage errors exit 64, run failures 1.
    public static func runWithOneLineErrors(tool: String) async {
        do {
            var command = try parseAsRoot(joiningNegativeValues(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is ExitCode { exit(withError: error) }
            let text = fullMessage(for: error).split(whereSeparator: \.isNewline)
                .first { !$0.trimmedOfSpaces().isEmpty }
                .map { String($0).replacing("Error: ", with: "") } ?? "\(error)"
            StandardStreams.writeError("\(tool): error: \(text) (see \(tool) --help)\n")
            Glibc.exit(code.rawValue)
        }
    }
}

/// Joins `--start -30d` into `--start=-30d`: a value starting with a dash and a digit is a relative
/// time or a negative number, never a flag, but the argument parser would take it for one.
public func joiningNegativeValues(_ arguments: [String]) -> [String] {
    var result: [String] = []
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        if argument.hasPrefix("--"), !argument.contains("="), index + 1 < arguments.count,
           arguments[index + 1].count > 1, arguments[index + 1].hasPrefix("-"),
           arguments[index + 1].dropFirst().first?.isNumber == true {
            result.append(argument + "=" + arguments[index + 1])
            index += 2
        } else {
            result.append(argument)
            index += 1
        }
    }
    return result
}
