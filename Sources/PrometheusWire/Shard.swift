/// One part of a job split across N workers (`--shard I/N`): part `index` of `count`, 0-based.
///
/// A series belongs to the part its labels hash to: FNV-1a 64 over each label's name bytes, a 0xFF
/// byte, its value bytes and a 0xFF byte, in label order, modulo `count`. The hash is fixed (it
/// never depends on the process or the machine), so N workers started anywhere split the series the
/// same way, and every series falls to exactly one of them.
public struct Shard: Hashable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// At most this many parts: far more than any batch system runs workers for one job.
    public static let maxCount = 4096

    public init(index: Int, count: Int) {
        precondition(count >= 1 && count <= Self.maxCount && index >= 0 && index < count, "a shard is I/N with 0 <= I < N")
        self.index = index
        self.count = count
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// `I/N`, e.g. `0/4`.
    public init(parsing text: String) throws(ParseError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw ParseError(description: "expected I/N, e.g. 0/4 (part I of N, counted from 0)")
        }
        guard count >= 1 && count <= Self.maxCount else { throw ParseError(description: "N must be 1...\(Self.maxCount)") }
        guard index >= 0 && index < count else {
            throw ParseError(description: "I must be 0...\(count - 1) for N = \(count) (parts are counted from 0, as a Kubernetes Indexed Job counts them)")
        }
        self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// The part `labels` fall to.
    public static func part(of labels: Labels, count: Int) -> Int {
        var hash = FNV1a()
        for label in labels.labels {
            hash.add(label.name)
            hash.add(0xFF)
            hash.add(label.value)
            hash.add(0xFF)
        }
        return Int(hash.value % UInt64(count))
    }

    public func owns(_ labels: Labels) -> Bool { Self.part(of: labels, count: count) == index }
}
