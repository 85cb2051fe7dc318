import HTTPTransport
import BlockCompression
import FoundationEssentials
public import Logging
import NIOCore
import NIOHTTP1
public import PrometheusWire
import Synchronization

/// A Prometheus remote-write 1.0 client: one snappy-compressed `WriteRequest` per call.
///
/// It sends, classifies the answer, and nothing more; retrying, splitting and isolating rejected
/// samples are the caller's policy (`ImportPipeline`), which needs to know which batch failed.
public final class RemoteWriteClient: Sendable {
    /// How the target answered one request.
    public enum Outcome: Sendable, Equatable {
        case accepted
        /// The target refuses the data itself (400, 409, 422): sending it again will not help.
        case rejected(status: Int, message: String)
        /// The request is too large for the target (413): split it.
        case tooLarge(message: String)
    }

    public let endpoint: EndpointConfiguration
    private let client: HTTPTransport
    /// Set once an answer carried `X-Server-Hostname`, which VictoriaMetrics puts on every answer.
    private let victoriaMetrics = Atomic<Bool>(false)
    /// Set once the target answered anything, so that `victoriaMetrics` is known.
    private let answered = Atomic<Bool>(false)

    public init(endpoint: EndpointConfiguration) throws {
        self.endpoint = endpoint
        self.client = try HTTPClientFactory.make(for: endpoint)
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    public func checkReachable() async throws {
        try await Reachability.check(endpoint)
    }

    /// Sends an empty write request, which stores nothing, and throws when the answer comes from a
    /// target that acknowledges native histograms and discards them: before any sample goes out.
    public func checkKeepsHistograms(logger: Logger) async throws {
        _ = try await send(WriteRequest(timeseries: []), logger: logger)
        if victoriaMetrics.load(ordering: .relaxed) { throw Self.victoriaMetricsDiscards(endpoint.redactedURL) }
    }

    static func victoriaMetricsDiscards(_ url: String) -> RemoteStorageError {
        RemoteStorageError(.unstorable, "\(url) answers like VictoriaMetrics (X-Server-Hostname), which acknowledges native "
            + "histograms and discards them; re-run with --histograms drop to send the rest, or import them into a Prometheus "
            + "started with --enable-feature=native-histograms")
    }

    /// Sends one request.
    ///
    /// - Returns: `.accepted`, `.rejected` or `.tooLarge`.
    /// - Throws: `RemoteStorageError` for everything else: retryable ones (transport, timeouts,
    ///   5xx, 429 with its `Retry-After`) and configuration errors (401, 403, 404, 405, 415, redirects).
    public func send(_ request: WriteRequest, attempt: Int = 1, logger: Logger) async throws -> Outcome {
        let holdsHistograms = request.timeseries.contains { !$0.histograms.isEmpty }
        if holdsHistograms && !answered.load(ordering: .relaxed) {
            // Histograms first of all: an empty request, which stores nothing, shows what answers.
            _ = try? await send(WriteRequest(timeseries: []), logger: logger)
        }
        if holdsHistograms && victoriaMetrics.load(ordering: .relaxed) { throw Self.victoriaMetricsDiscards(endpoint.redactedURL) }
        // Compressed straight into the buffer that is sent: no zeroed scratch array, no copy.
        let encoded = request.encode()
        var body = ByteBufferAllocator().buffer(capacity: Snappy.maxCompressedLength(encoded.count))
        encoded.withUnsafeBytes { src in
            _ = body.writeWithUnsafeMutableBytes(minimumWritableBytes: Snappy.maxCompressedLength(src.count)) {
                Snappy.compress(src, into: $0)
            }
        }
        var http = HTTPTransport.Request(url: endpoint.url)
        http.method = .POST
        http.headers = headers(attempt: attempt)
        http.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        http.body = body
        let response: HTTPTransport.Response
        let text: String
        do {
            response = try await client.execute(http, deadline: .now() + .milliseconds(Int64(endpoint.requestTimeoutSeconds * 1000)))
            text = await ServerMessage.read(response)
        } catch {
            throw RemoteReadClient.classify(error, url: endpoint.redactedURL, requestTimedOut: RemoteStorageError(.timeout,
                "\(endpoint.redactedURL) did not answer within \(Int(endpoint.requestTimeoutSeconds)) s (--request-timeout); "
                + "the target is too slow for this batch: use a smaller --batch-samples or a longer --request-timeout"))
        }
        let status = Int(response.status.code)
        let url = endpoint.redactedURL
        if response.headers.first(name: "X-Server-Hostname") != nil { victoriaMetrics.store(true, ordering: .relaxed) }
        answered.store(true, ordering: .relaxed)
        switch status {
        case 200..<300:
            // VictoriaMetrics accepts native histograms with 204 and keeps none of them. Known from an
            // earlier answer, such a request is not sent at all; learnt only now, the import stops here.
            if holdsHistograms && victoriaMetrics.load(ordering: .relaxed) { throw Self.victoriaMetricsDiscards(url) }
            return .accepted
        case 400, 409, 422:
            return .rejected(status: status, message: text.isEmpty ? "HTTP \(status)" : text)
        case 413:
            return .tooLarge(message: text)
        case 300..<400:
            throw RemoteStorageError(.redirect, "\(url) redirects (HTTP \(status)); redirects are not followed so that "
                + "credentials stay with the host you named: use the final URL")
        case 401, 403:
            throw RemoteStorageError(.httpStatus(status), "\(url) answered HTTP \(status)\(text.isEmpty ? "" : ": \(text)"); "
                + "check the credentials (--basic-auth-user/--basic-auth-password-file, --bearer-token-file)")
        case 404:
            throw RemoteStorageError(.httpStatus(status), "\(url) answered HTTP 404\(text.isEmpty ? "" : ": \(text)"); check the "
                + "path of --target-url (Prometheus: /api/v1/write with --web.enable-remote-write-receiver; VictoriaMetrics: /api/v1/write)")
        case 500 where holdsHistograms && text.contains("native histograms are disabled"):
            // Prometheus 2.x without the feature flag; a retry gets the same answer.
            throw RemoteStorageError(.unstorable, "\(url) refuses native histograms (HTTP 500: \(text)): start that Prometheus with "
                + "--enable-feature=native-histograms, or re-run with --histograms drop to send the rest")
        default:
            throw RemoteStorageError(.httpStatus(status), "\(url) answered HTTP \(status)\(text.isEmpty ? "" : ": \(text)")",
                                     retryAfterSeconds: response.headers.first(name: "Retry-After").flatMap(RetryAfter.parse))
        }
    }

    func headers(attempt: Int) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for (name, value) in endpoint.headers { headers.add(name: name, value: value) }
        headers.replaceOrAdd(name: "Content-Type", value: "application/x-protobuf")
        headers.replaceOrAdd(name: "Content-Encoding", value: "snappy")
        headers.replaceOrAdd(name: "X-Prometheus-Remote-Write-Version", value: "0.1.0")
        headers.replaceOrAdd(name: "User-Agent", value: RemoteReadClient.userAgent)
        if attempt > 1 { headers.replaceOrAdd(name: "Retry-Attempt", value: String(attempt - 1)) }
        if let authorization = endpoint.authorizationHeader { headers.replaceOrAdd(name: "Authorization", value: authorization) }
        return headers
    }
}
