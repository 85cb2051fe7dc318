import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import PrometheusWire

/// `GET <api>/api/v1/label/__name__/values`: the metric names a Prometheus-compatible query API
/// (Prometheus, Mimir, Thanos, VictoriaMetrics) holds for selectors in a range. `prom-export
/// --shard-by series` splits a job by these names.
enum MetricNamesQuery {
    /// Names are at most this many bytes of JSON in all (a million names of 60 bytes).
    static let maxReplyBytes = 64 << 20

    static func fetch(client: HTTPClient, apiBase: String, endpoint: EndpointConfiguration, startMs: Int64, endMs: Int64,
                      selectors: [SeriesSelector], logger: Logger) async throws -> [String] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encode = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text }
        let url = apiBase + "/api/v1/label/__name__/values?start=" + OpenMetricsText.seconds(startMs) + "&end=" + OpenMetricsText.seconds(endMs - 1)
            + selectors.map { "&match%5B%5D=" + encode($0.description) }.joined()
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        for (name, value) in endpoint.headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "User-Agent", value: RemoteReadClient.userAgent)
        if let authorization = endpoint.authorizationHeader { request.headers.replaceOrAdd(name: "Authorization", value: authorization) }
        let shown = EndpointConfiguration(url: apiBase).redactedURL + "/api/v1/label/__name__/values"
        let timedOut = RemoteStorageError(.timeout, "\(shown): no answer within \(Int(endpoint.requestTimeoutSeconds)) s (--request-timeout)")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .milliseconds(Int64(endpoint.requestTimeoutSeconds * 1000)), logger: logger)
        } catch {
            throw RemoteReadClient.classify(error, url: shown, requestTimedOut: timedOut)
        }
        let status = Int(response.status.code)
        guard status == 200 else {
            let text = await ServerMessage.read(response)
            throw RemoteStorageError(.httpStatus(status), "\(shown) answered \(status)\(text.isEmpty ? "" : ": \(text)"); --shard-by series "
                + "lists the metric names through this API, which the source must serve (or split by time: --shard-by time)")
        }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: maxReplyBytes)
        } catch {
            throw RemoteStorageError(.tooLarge, "\(shown): the list of metric names is over \(maxReplyBytes >> 20) MiB", cause: error)
        }
        struct Reply: Decodable {
            let status: String
            let data: [String]
        }
        guard let reply = try? JSONDecoder().decode(Reply.self, from: Data(body.readableBytesView)), reply.status == "success" else {
            throw RemoteStorageError(.protocolViolation, "\(shown) did not answer with a list of names ({\"status\":\"success\",\"data\":[…]})")
        }
        return reply.data.sorted()
    }

    /// The query API beside a URL that ends in `suffix` (e.g. `/api/v1/read`), or an error saying so.
    static func apiBase(of url: String, suffix: String, redacted: String) throws -> String {
        let path = url.split(separator: "?", maxSplits: 1)[0]
        guard path.hasSuffix(suffix) else {
            throw RemoteStorageError(.protocolViolation, "\(redacted) does not end in \(suffix), so the metric-name API beside it is "
                + "unknown; --shard-by series needs it (or split by time: --shard-by time)")
        }
        return String(path.dropLast(suffix.count))
    }
}

extension RemoteReadClient {
    /// The metric names of `selectors` in the range, from the query API beside the remote-read path.
    public func metricNames(startMs: Int64, endMs: Int64, selectors: [SeriesSelector], logger: Logger) async throws -> [String] {
        let base = try MetricNamesQuery.apiBase(of: endpoint.url, suffix: "/api/v1/read", redacted: endpoint.redactedURL)
        return try await MetricNamesQuery.fetch(client: clientForHelpers, apiBase: base, endpoint: endpoint, startMs: startMs, endMs: endMs,
                                                selectors: selectors, logger: logger)
    }
}
