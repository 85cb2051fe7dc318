import Glibc
import FoundationEssentials
public import Logging
import PrometheusWire

/// `--log-format json`: one JSON object per line on stderr, for log shippers.
///
/// Keys: `time` (RFC 3339 with milliseconds, UTC), `level`, `logger` (the tool), `message`, then the
/// event's metadata as strings (`slab.start`, `samples`, …), the handler's own metadata under it.
/// Lines are written whole with one `write(2)`, so events of concurrent tasks never interleave.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .warning
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
        if let error = event.error { fields["error"] = "\(error)" }
        fields["time"] = TimestampText.rfc3339(Int64(Date().timeIntervalSince1970 * 1000))
        fields["level"] = event.level.rawValue
        fields["logger"] = label
        fields["message"] = event.message.description
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(fields) else { return }
        line.append(0x0A)
        line.withUnsafeBytes { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

/// `--log-format`: human-readable lines or JSON objects.
public enum LogFormat: String, CaseIterable, Sendable {
    case text, json
}
