/// An error from one of the block codecs (zstd or snappy).
///
/// `message` says what went wrong in words an operator can act on; the codec's own error name is kept
/// in it where there is one.
public struct CompressionError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: Sendable, Equatable {
        case corruptInput
        case sizeLimitExceeded
        case sizeMismatch
        case codecFailure
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
