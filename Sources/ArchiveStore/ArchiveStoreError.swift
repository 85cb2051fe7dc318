import ArchiveFormat

/// A filesystem failure or an archive directory that cannot be used, with the path and the fix.
public struct ArchiveStoreError: Error, CustomStringConvertible, Equatable, Sendable {
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

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension ArchiveStoreError {
    /// A format error as the store reports it: a newer format version stays distinct from damage.
    init(_ error: ArchiveFormatError, prefix: String = "") {
        self.init(error.code == .unsupportedVersion ? .newerVersion : .corrupt, prefix + error.message)
    }
}
