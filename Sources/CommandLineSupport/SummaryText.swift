import FoundationEssentials

/// The JSON form of a run's final summary, as every command prints and writes it (each command
/// renders its own text form).
public enum SummaryText {
    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        try Data((json(value) + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Pretty, key-sorted JSON, as every tool prints it.
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
