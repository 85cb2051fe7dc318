import ArgumentParser
import Foundation
import Logging
import PrometheusWire

/// How a tool reports: progress, summary file, diagnostics. Shared by every tool.
public struct OutputOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Print nothing but errors and the final summary.")
    public var quiet = false

    @Option(name: .customLong("summary-json"), help: "Also write the final summary as JSON to this file.")
    public var summaryJSON: String?

    @Option(name: .customLong("log-level"), help: "Diagnostics on stderr: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: Logger.Level = .warning

    public init() {}

    /// A summary file that cannot be written is refused before the work starts, not after it is done.
    public func validate() throws {
        guard let path = summaryJSON else { return }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--summary-json \(path): the directory \(parent) does not exist; create it or choose another path")
        }
    }
}

/// Parses repeatable `--match` arguments, naming the flag and the column of any error.
public func parseSelectors(_ texts: [String]) throws -> [SeriesSelector] {
    try texts.map { text in
        do {
            return try SeriesSelector(parsing: text)
        } catch let error as SeriesSelector.ParseError {
            throw ValidationError("--match: \(error.description)")
        }
    }
}
