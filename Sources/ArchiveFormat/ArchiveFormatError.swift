/// A segment or manifest that does not follow `formats/`. Messages name the file part and offset.
public struct ArchiveFormatError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: Sendable, Equatable {
        case badMagic
        case unsupportedVersion
        case truncated
        case corrupt
        case limitExceeded
        case invalidInput
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
