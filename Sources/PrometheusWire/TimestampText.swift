import Foundation

/// Millisecond timestamps as operators read them in messages and summaries.
public enum TimestampText {
    /// RFC 3339 in UTC, with milliseconds only when the timestamp has them: `2024-05-01T00:00:00Z`.
    public static func rfc3339(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = ms % 1000 == 0 ? [.withInternetDateTime] : [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
