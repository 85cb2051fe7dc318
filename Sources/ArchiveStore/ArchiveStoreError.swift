public import PrometheusWire
import ArchiveFormat

/// A filesystem failure or an archive directory that cannot be used, with the path and the fix.
public struct ArchiveStoreError: Error, CausedError, CustomStringConvertible, Equatable, Sendable {
    public enum Code: Sendable, Equatable {
        case io
        case noSpace
        case notAnArchive
        case mismatch
        case locked
        case corrupt
        case missing
        /// Written by a newer promferry (manifest or segment format version): not damage; upgrading reads it.
        case newerVersion
    }

    public let code: Code
    public let message: String
    /// The error this one was made from (a format error of a segment or manifest), kept for diagnostics.
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause as? any Error & Sendable
    }

    public var description: String { message }

    /// Errors are equal by what they say (code and message); the cause is for diagnostics.
    public static func == (a: Self, b: Self) -> Bool { a.code == b.code && a.message == b.message }
}

extension ArchiveStoreError {
    /// A format error as the store reports it: a newer format version stays distinct from damage.
    init(_ error: ArchiveFormatError, prefix: String = "") {
        self.init(error.code == .unsupportedVersion ? .newerVersion : .corrupt, prefix + error.message, cause: error)
    }
}
