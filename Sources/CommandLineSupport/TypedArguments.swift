public import ArgumentParser
import FoundationEssentials
public import PrometheusWire

/// Options parsed when the command line is, so that a bad value is refused with the option's name
/// before anything runs ("The value '1 hour' is invalid for '--slab <slab>': …"). Each keeps the
/// text as given, which is what help shows and what a resumed export compares.
///
/// A conforming type says how to parse its text (`init(parsing:)`, throwing the reason); the rest —
/// `ExpressibleByArgument`, the `transform:` that keeps the reason in the message, the description —
/// comes from here.
public protocol ParsedArgument: ExpressibleByArgument, CustomStringConvertible, Sendable {
    var text: String { get }
    init(parsing text: String) throws
}

extension ParsedArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
    /// For `@Option(transform:)`, which reports the thrown reason.
    public static func parse(_ text: String) throws -> Self { try Self(parsing: text) }
    public var description: String { text }
}

/// A duration: `500ms`, `30s`, `15m`, `1h`, `7d`, `2w`.
public struct DurationArgument: ParsedArgument {
    public let text: String
    public let milliseconds: Int64

    public init(parsing text: String) throws {
        milliseconds = try DurationExpression.parse(text)
        self.text = text
    }
}

/// A size in bytes: `512KiB`, `64MiB`, `4GiB`, `700MB`.
public struct ByteSizeArgument: ParsedArgument {
    public let text: String
    public let bytes: Int

    public init(parsing text: String) throws {
        bytes = try ByteSizeExpression.parse(text)
        self.text = text
    }
}

/// A time: RFC 3339, Unix seconds or milliseconds, or relative to now (`-30d`, `now-12h`, `now`),
/// resolved against the moment the command line was parsed.
public struct TimeArgument: ParsedArgument {
    public let text: String
    public let milliseconds: Int64

    public init(parsing text: String) throws {
        milliseconds = try TimeExpression.parse(text, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        self.text = text
    }
}

/// A PromQL series selector (`up`, `{job="node",instance=~"10\\..*"}`), its regular expressions compiled.
public struct SelectorArgument: ParsedArgument {
    public let selector: SeriesSelector
    public var text: String { selector.description }

    public init(parsing text: String) throws {
        selector = try SeriesSelector(parsing: text)
        _ = try SeriesFilter(selectors: [selector])  // a regular expression that cannot compile is refused here
    }
}

extension ArgumentHelp {
    /// Help for an option parsed with `transform:`, whose default ArgumentParser does not show itself.
    public static func text(_ abstract: String, default value: some CustomStringConvertible) -> ArgumentHelp {
        ArgumentHelp(abstract + " (default: \(value))")
    }
}

/// A label pair, `NAME=VALUE`: the name as Prometheus allows them (`[a-zA-Z_][a-zA-Z0-9_]*`), any value.
public struct LabelPairArgument: ParsedArgument {
    public let text: String
    public let name: String
    public let value: String

    public init(parsing text: String) throws {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw ValidationError("expected NAME=VALUE, e.g. cluster=eu1")
        }
        let name = String(text[..<equals])
        guard name.first.map({ $0.isLetter || $0 == "_" }) == true, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw ValidationError("\"\(name)\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)")
        }
        self.text = text
        self.name = name
        value = String(text[text.index(after: equals)...])
    }
}

/// `I/N`: part I of a job split N ways (`Shard`).
public struct ShardArgument: ParsedArgument {
    public let text: String
    public let shard: Shard

    public init(parsing text: String) throws {
        do {
            shard = try Shard(parsing: text)
        } catch {
            throw ValidationError(error.description)
        }
        self.text = text
    }
}
