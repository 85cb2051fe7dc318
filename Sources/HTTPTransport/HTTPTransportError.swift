/// Why an exchange with a server failed, as a value the callers match by case (never by its text).
///
/// Failures of the layers below (NIO's `IOError`, `NIOConnectionError`, NIOSSL's errors) are passed
/// through unchanged, so that callers can tell a refused connection or a refused certificate apart.
public struct HTTPTransportError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Code: Equatable, Sendable {
        /// The URL cannot be requested (no scheme, no host, a bad port, or a scheme other than http/https).
        case invalidURL
        /// No TCP connection within the connect timeout.
        case connectTimeout
        /// No bytes arrived within the read timeout while the response was awaited.
        case readTimeout
        /// The whole exchange did not finish by its deadline.
        case deadlineExceeded
        /// The server closed the connection before the response ended.
        case remoteConnectionClosed
        /// The response body is larger than the caller accepts.
        case bodyTooLarge
        /// The server's answer is not HTTP/1.1.
        case invalidResponse
        /// The transport was shut down.
        case shutDown
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    public var description: String {
        let what = switch code {
        case .invalidURL: "invalid URL"
        case .connectTimeout: "connect timeout"
        case .readTimeout: "read timeout"
        case .deadlineExceeded: "deadline exceeded"
        case .remoteConnectionClosed: "remote connection closed"
        case .bodyTooLarge: "response body too large"
        case .invalidResponse: "invalid HTTP response"
        case .shutDown: "HTTP client shut down"
        }
        return detail.isEmpty ? what : "\(what): \(detail)"
    }

    public static func == (lhs: HTTPTransportError, rhs: HTTPTransportError) -> Bool { lhs.code == rhs.code }
}
