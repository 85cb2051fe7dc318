/// An export that cannot go on, with what to do about it.
public struct ExportError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        case archiveMismatch
        case labelCollision
        case gaveUp
        case cannotSplit
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
