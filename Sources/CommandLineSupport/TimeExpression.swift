import PrometheusWire
import FoundationEssentials

/// Parses `--start`/`--end` values: RFC 3339 (`2024-05-01T00:00:00Z`), Unix seconds (`1714521600`,
/// fractions allowed) or milliseconds (13+ digits), and relative forms (`now`, `-30d`, `now-12h`, `-1h30m`).
public enum TimeExpression {
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Unix milliseconds for `text`, relative forms measured from `nowMs`.
    public static func parse(_ text: String, nowMs: Int64) throws -> Int64 {
        let trimmed = text.trimmedOfSpaces()
        if trimmed.isEmpty { throw ParseError(description: "empty time; use RFC 3339, Unix seconds, or -30d / now") }
        if trimmed == "now" { return nowMs }
        var relative: Substring?
        if trimmed.hasPrefix("now-") { relative = trimmed.dropFirst(4) }
        else if trimmed.hasPrefix("-"), let next = trimmed.dropFirst().first, next.isNumber,
                trimmed.contains(where: { $0.isLetter }) { relative = trimmed.dropFirst() }
        if let relative {
            let ms = try DurationExpression.parse(String(relative))
            return nowMs - ms
        }
        if trimmed.allSatisfy({ $0.isNumber || $0 == "." }), trimmed.first?.isNumber == true {
            let digits = trimmed.split(separator: ".").first.map(String.init) ?? trimmed
            if !trimmed.contains("."), digits.count >= 13, let ms = Int64(trimmed) { return ms }
            guard let seconds = Double(trimmed), seconds < 1e11 else {
                throw ParseError(description: "\(text) is not a Unix time in seconds (10 digits) or milliseconds (13 digits)")
            }
            return Int64((seconds * 1000).rounded())
        }
        if let date = rfc3339(trimmed) {
            try checkCalendarFields(trimmed, original: text)
            return Int64((date.timeIntervalSince1970 * 1000).rounded())
        }
        throw ParseError(description: "\(text) is not a time; use RFC 3339 (2024-05-01T00:00:00Z), Unix seconds or "
            + "milliseconds, now, or a relative time such as -30d or now-12h")
    }

    /// The date parser rolls impossible dates over (`2026-02-30` became March 2); the fields are
    /// checked as written instead: month 1–12, the day within its month, hour ≤ 23, minute ≤ 59,
    /// second ≤ 60 (a leap second).
    static func checkCalendarFields(_ text: String, original: String) throws {
        let digits = text.map { $0.wholeNumberValue }
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= digits.count else { return nil }
            return digits[from..<from + count].reduce(Optional(0)) { sum, digit in sum.flatMap { s in digit.map { s * 10 + $0 } } }
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2) else { return }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), (1...days[month - 1]).contains(day) else {
            throw ParseError(description: "\(original): \(String(text.prefix(10))) is not a date of the calendar")
        }
        if text.count >= 19, let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
           hour > 23 || minute > 59 || second > 60 {
            throw ParseError(description: "\(original): \(String(text.dropFirst(11).prefix(8))) is not a time of day")
        }
    }

    static func rfc3339(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().year().month().day().parse(text)
    }
}

/// Parses durations the Prometheus way: `90s`, `15m`, `1h30m`, `2d`, `1w`, `1y`, `500ms`.
public enum DurationExpression {
    static let units: [(String, Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000), ("y", 31_536_000_000),
    ]

    /// 10000 years: any longer duration is a typo, and Unix-millisecond arithmetic with it could overflow.
    static let maxMs: Int64 = 10_000 * 31_536_000_000

    public static func parse(_ text: String) throws -> Int64 {
        var total: Int64 = 0
        var rest = Substring(text.trimmedOfSpaces())
        guard !rest.isEmpty else { throw TimeExpression.ParseError(description: "empty duration; use e.g. 1h, 30m, 2d") }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber }
            guard !digits.isEmpty, let value = Int64(digits) else {
                throw TimeExpression.ParseError(description: "\(text) is not a duration; use e.g. 1h, 30m, 1h30m, 2d, 1w")
            }
            rest = rest.dropFirst(digits.count)
            let unitText = rest.prefix { $0.isLetter }
            guard let unit = units.first(where: { $0.0 == unitText }) else {
                throw TimeExpression.ParseError(description: "\(text): unknown or missing unit \"\(unitText)\"; use ms, s, m, h, d, w or y")
            }
            rest = rest.dropFirst(unitText.count)
            let (product, overflow) = value.multipliedReportingOverflow(by: unit.1)
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            guard !overflow, !sumOverflow, sum <= maxMs else {
                throw TimeExpression.ParseError(description: "\(text) is too long a duration (at most 10000y)")
            }
            total = sum
        }
        return total
    }
}

/// Parses byte sizes: `64MiB`, `1GiB`, `500MB`, `4096`, `512k`.
public enum ByteSizeExpression {
    public static func parse(_ text: String) throws -> Int {
        let trimmed = text.trimmedOfSpaces()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(digits.count).trimmedOfSpaces().lowercased()
        guard let value = Double(digits), value >= 0 else {
            throw TimeExpression.ParseError(description: "\(text) is not a size; use e.g. 64MiB, 1GiB, 500MB")
        }
        let factors: [String: Double] = ["": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": Double(1 << 20), "mb": 1e6,
                                         "mib": Double(1 << 20), "g": Double(1 << 30), "gb": 1e9, "gib": Double(1 << 30),
                                         "t": Double(1 << 40), "tb": 1e12, "tib": Double(1 << 40)]
        guard let factor = factors[unit] else {
            throw TimeExpression.ParseError(description: "\(text): unknown unit \"\(unit)\"; use B, KiB, MiB, GiB (or kB, MB, GB)")
        }
        let bytes = value * factor
        guard bytes <= Double(maxBytes) else {
            throw TimeExpression.ParseError(description: "\(text) is larger than \(format(maxBytes)), the largest size taken")
        }
        return Int(bytes)
    }

    /// 1 PiB: far above any memory or segment size, and far below where `Int` arithmetic on sizes overflows.
    public static let maxBytes = 1 << 50

    public static func format(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var index = 0
        while value >= 1024 && index < units.count - 1 { value /= 1024; index += 1 }
        return index == 0 ? "\(bytes) B" : cFormat("%.1f", value) + " " + units[index]
    }
}
