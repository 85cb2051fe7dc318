import HTTPTransport
import FoundationEssentials
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

    static func fetch(client: HTTPTransport, apiBase: String, endpoint: EndpointConfiguration, startMs: Int64, endMs: Int64,
                      selectors: [SeriesSelector], logger: Logger) async throws -> [String] {
        let url = apiBase + "/api/v1/label/__name__/values?start=" + OpenMetricsText.seconds(startMs) + "&end=" + OpenMetricsText.seconds(endMs - 1)
            + selectors.map { "&match%5B%5D=" + PercentEncoding.encode($0.description) }.joined()
        let shown = EndpointConfiguration(url: apiBase).redactedURL + "/api/v1/label/__name__/values"
        let response = try await endpoint.execute(endpoint.getRequest(url), on: client, shown: shown,
                                                  timedOut: RemoteStorageError(.timeout, "\(shown): no answer within "
                                                      + "\(Int(endpoint.requestTimeoutSeconds)) s (--request-timeout)"), logger: logger)
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
