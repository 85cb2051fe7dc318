/// A malformed message, frame or chunk received from (or about to be sent to) a remote endpoint.
///
/// The message names the structure and the offset, so a corrupt capture can be located with a hex dump.
public struct WireError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: Sendable, Equatable {
        case truncated
        case malformed
        case checksumMismatch
        case frameTooLarge
        case unsupported
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
