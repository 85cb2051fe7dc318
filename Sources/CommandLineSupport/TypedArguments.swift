public import ArgumentParser
import Foundation
public import PrometheusWire

/// Options parsed when the command line is, so that a bad value is refused with the option's name
/// before anything runs ("The value '1 hour' is invalid for '--slab <slab>': …"). Each keeps the
/// text as given, which is what help shows and what a resumed export compares.

/// A duration: `500ms`, `30s`, `15m`, `1h`, `7d`, `2w`.
public struct DurationArgument: ExpressibleByArgument, CustomStringConvertible, Sendable {
    public let text: String
    public let milliseconds: Int64

    public init(parsing text: String) throws {
        milliseconds = try DurationExpression.parse(text)
        self.text = text
    }

    public init?(argument: String) { try? self.init(parsing: argument) }
    public static func parse(_ text: String) throws -> Self { try Self(parsing: text) }
    public var description: String { text }
}

/// A size in bytes: `512KiB`, `64MiB`, `4GiB`, `700MB`.
public struct ByteSizeArgument: ExpressibleByArgument, CustomStringConvertible, Sendable {
    public let text: String
    public let bytes: Int

    public init(parsing text: String) throws {
        bytes = try ByteSizeExpression.parse(text)
        self.text = text
    }

    public init?(argument: String) { try? self.init(parsing: argument) }
    public static func parse(_ text: String) throws -> Self { try Self(parsing: text) }
    public var description: String { text }
}

/// A time: RFC 3339, Unix seconds or milliseconds, or relative to now (`-30d`, `now-12h`, `now`),
/// resolved against the moment the command line was parsed.
public struct TimeArgument: ExpressibleByArgument, CustomStringConvertible, Sendable {
    public let text: String
    public let milliseconds: Int64

    public init(parsing text: String, nowMs: Int64? = nil) throws {
        milliseconds = try TimeExpression.parse(text, nowMs: nowMs ?? Int64(Date().timeIntervalSince1970 * 1000))
        self.text = text
    }

    public init?(argument: String) { try? self.init(parsing: argument) }
    public static func parse(_ text: String) throws -> Self { try Self(parsing: text) }
    public var description: String { text }
}

/// A PromQL series selector (`up`, `{job="node",instance=~"10\\..*"}`), its regular expressions compiled.
public struct SelectorArgument: ExpressibleByArgument, CustomStringConvertible, Sendable {
    public let selector: SeriesSelector

    public init(parsing text: String) throws {
        selector = try SeriesSelector(parsing: text)
        _ = try SeriesFilter(selectors: [selector])  // a regular expression that cannot compile is refused here
    }

    public init?(argument: String) { try? self.init(parsing: argument) }
    public static func parse(_ text: String) throws -> Self { try Self(parsing: text) }
    public var description: String { selector.description }
}

extension ArgumentHelp {
    /// Help for an option parsed with `transform:`, whose default ArgumentParser does not show itself.
    public static func text(_ abstract: String, default value: some CustomStringConvertible) -> ArgumentHelp {
        ArgumentHelp(abstract + " (default: \(value))")
    }
}
