public import ArgumentParser
import FoundationEssentials
public import Logging
public import PrometheusWire

/// `--quiet`, `--json` and `--summary-json`: how every command reports, the same in each.
public struct ReportOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Print nothing but errors and the final summary.")
    public var quiet = false

    @Flag(help: "Print the final summary as JSON on stdout instead of text.")
    public var json = false

    @Option(name: .customLong("summary-json"), help: "Also write the final summary as JSON to this file.")
    public var summaryJSON: String?

    public init() {}

    public func validate() throws { try SummaryOutput.checkWritable(summaryJSON) }

    /// Prints the summary (JSON with --json, else `text`) and writes it to --summary-json FILE.
    public func report<T: Encodable>(_ summary: T, text: @autoclosure () -> String) throws {
        try SummaryOutput.report(summary, text: text(), json: json, file: summaryJSON)
    }
}

/// How a command reports: `ReportOptions` and its diagnostics (`--log-level`, `--log-format`).
public struct OutputOptions: ParsableArguments {
    @OptionGroup public var report: ReportOptions

    @Option(name: .customLong("log-level"), help: ArgumentHelp("Diagnostics on stderr: trace, debug, info (what the run did, with its "
        + "figures: each slab, segment, retry, split, resume or join), notice, warning, error, critical."))
    public var logLevel: Logger.Level = .warning

    @Option(name: .customLong("log-format"), help: "text, or json: one JSON object per line (time, level, logger, message, fields).")
    public var logFormat: LogFormat = .text

    public init() {}

    public var quiet: Bool { report.quiet }
    public var json: Bool { report.json }

    /// Sets up the logging system as these options say; call once, before any logger is made.
    public func bootstrapLogging() { CommandFailure.bootstrapLogging(level: logLevel, format: logFormat) }

    public func report<T: Encodable>(_ summary: T, text: @autoclosure () -> String) throws {
        try report.report(summary, text: text())
    }
}

/// What `--json` and `--summary-json FILE` mean in every command: the final summary (or report) as
/// JSON, on stdout instead of the text, and written to FILE besides whatever stdout gets.
public enum SummaryOutput {
    /// A summary file that cannot be written is refused before the work starts, not after it is done.
    public static func checkWritable(_ path: String?) throws {
        guard let path else { return }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory else {
            throw ValidationError("--summary-json \(path): the directory \(parent) does not exist; create it or choose another path")
        }
    }

    public static func report<T: Encodable>(_ summary: T, text: @autoclosure () -> String, json: Bool, file: String?) throws {
        print(json ? try SummaryText.json(summary) : text())
        if let file { try SummaryText.writeJSON(summary, to: file) }
    }
}

extension LogFormat: ExpressibleByArgument {}
