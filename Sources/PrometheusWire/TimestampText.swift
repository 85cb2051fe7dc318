import FoundationEssentials

/// Millisecond timestamps as operators read them in messages and summaries.
public enum TimestampText {
    /// The wall-clock time now, RFC 3339 in UTC with milliseconds: when a manifest or report was made.
    public static func now() -> String {
        Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    /// RFC 3339 in UTC, with milliseconds only when the timestamp has them: `2024-05-01T00:00:00Z`.
    public static func rfc3339(_ ms: Int64) -> String {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: ms % 1000 != 0, timeZone: .gmt)
        return Date(timeIntervalSince1970: Double(ms) / 1000).formatted(style)
    }
}
