public import PrometheusWire
/// An export that cannot go on, with what to do about it.
public struct ExportError: Error, CausedError, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        case archiveMismatch
        case labelCollision
        case gaveUp
        case cannotSplit
        /// `--end` lies after the present: the source cannot hold those samples yet.
        case rangeInFuture
        /// A committed segment is missing or has the wrong size, and `--repair` was not given.
        case damagedArchive
        /// The source sent data the archive format cannot hold (native histograms, start timestamps).
        case unstorable
        /// The export finished, but `--compact` could not join its slabs (the archive is sound as exported).
        case compactionFailed
    }

    public let code: Code
    public let message: String
    /// The error this one was made from, kept for diagnostics.
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause as? any Error & Sendable
    }

    public var description: String { message }
}
