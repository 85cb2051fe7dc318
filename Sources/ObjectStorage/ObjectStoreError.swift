public import PrometheusWire

/// A failure of the object store or of its configuration, with what to do about it.
public struct ObjectStoreError: Error, CausedError, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// Credentials, region or endpoint missing or malformed.
        case configuration
        /// The key is wrong or lacks the permission.
        case accessDenied
        case noSuchBucket
        case notFound
        /// A conditional request's condition did not hold (`If-None-Match`, `If-Match`).
        case preconditionFailed
        /// The store answered something this client cannot use.
        case badReply
        /// The connection failed, or the store failed (5xx, SlowDown) through every retry.
        case unavailable
    }

    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
