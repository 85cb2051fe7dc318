public import PrometheusWire
/// A failure talking to a remote endpoint, classified so that callers decide by type, not by text.
public struct RemoteStorageError: Error, CausedError, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// Connection refused, reset, DNS, TLS handshake: usually worth retrying.
        case transport
        /// No byte for longer than the read timeout, or the connect timeout passed.
        case timeout
        /// A non-2xx answer.
        case httpStatus(Int)
        /// The answer does not follow the protocol (bad frame, CRC, snappy, protobuf, content type).
        case protocolViolation
        /// The answer stopped inside a frame or before the declared length.
        case truncated
        /// Prometheus' `--storage.remote.read-sample-limit` was hit (SAMPLES responses only).
        case sampleLimitExceeded
        /// The source sent data this version cannot carry: an unknown chunk encoding, start timestamps.
        case unstorable
        /// The server answered with a redirect, which is never followed (credentials must not travel).
        case redirect
        /// A response body or frame over the configured limit.
        case tooLarge
        /// The TLS handshake was refused by either side: an untrusted certificate, a plain-http server
        /// behind an `https://` URL, a missing client certificate. Sending again cannot change that.
        case tls
        /// A response that would hold more memory than the read's budget (`--max-memory`); the caller
        /// reads the range again in smaller pieces.
        case overBudget
    }

    public let code: Code
    public let message: String
    /// The server's `Retry-After`, in seconds, when it sent one.
    public let retryAfterSeconds: Double?
    /// The error this one was made from (NIO's, the HTTP client's, TLS'), kept for diagnostics.
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, retryAfterSeconds: Double? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
        self.cause = cause as? any Error & Sendable
    }

    public var description: String { message }

    /// Whether re-sending the same request may succeed: transport failures, timeouts, 5xx, 429, and
    /// streams cut off mid-frame (a Prometheus does that when a query fails mid-response, e.g. while compacting).
    public var isRetryable: Bool {
        switch code {
        case .transport, .timeout, .truncated: return true
        case .protocolViolation: return true
        case .httpStatus(let status): return status == 429 || status >= 500
        case .sampleLimitExceeded, .unstorable, .redirect, .tooLarge, .overBudget, .tls: return false
        }
    }
}
