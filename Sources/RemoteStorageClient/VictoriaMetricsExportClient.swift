import HTTPTransport
import FoundationEssentials
public import Logging
import NIOCore
import NIOHTTP1
public import PrometheusWire

/// Reads raw samples from VictoriaMetrics, which has no remote read, through its `/api/v1/export`:
/// JSON lines (`VictoriaMetricsExportLine`), one line per series with all its samples in the range
/// (VictoriaMetrics merges a series' blocks before writing it, unless asked not to).
///
/// It serves as an export source (`SeriesSource`) and as the read-back of `--verify`. Values keep the
/// bits VictoriaMetrics prints (shortest form that reads back exactly).
public final class VictoriaMetricsExportClient: Sendable {
    public let endpoint: EndpointConfiguration
    private let client: HTTPTransport

    /// Whether `url` names an export endpoint (its path ends in `/api/v1/export`): single-node
    /// VictoriaMetrics, or a cluster's vmselect (`/select/<tenant>/prometheus/api/v1/export`).
    public static func isExportURL(_ url: String) -> Bool {
        let path = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        return path.hasSuffix("/api/v1/export")
    }

    public init(endpoint: EndpointConfiguration) throws {
        self.endpoint = endpoint
        self.client = try HTTPClientFactory.make(for: endpoint)
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// Every series matching `selector` (PromQL text) with its samples in `[startMs, endMs)`, in time order.
    public func read(startMs: Int64, endMs: Int64, selector: String, logger: Logger) async throws -> [Labels: [Sample]] {
        var series: [Labels: [Sample]] = [:]
        try await stream(startMs: startMs, endMs: endMs, selector: selector, memoryBudget: nil, logger: logger) { line in
            series[line.labels, default: []] += line.samples
        }
        return series.mapValues { $0.sorted { $0.timestampMs < $1.timestampMs } }
    }

    /// Streams the export of `[startMs, endMs)` line by line: each line's series, its samples inside
    /// the range, sorted by time with the first of any duplicate timestamp kept, goes to `emit` as soon
    /// as the line is complete. Memory holds the line being received, never the reply.
    ///
    /// - Throws: `RemoteStorageError`; `.overBudget` as soon as one line (one series) would hold more
    ///   than `memoryBudget` bytes, so that the caller reads the range again in smaller pieces.
    @discardableResult
    func stream(startMs: Int64, endMs: Int64, selector: String, memoryBudget: Int?, logger: Logger,
                emit: (Series) async throws -> Void) async throws -> ReadOutcome {
        // `end` is inclusive and both take seconds with millisecond decimals.
        let query = "match%5B%5D=" + PercentEncoding.encode(selector) + "&start=" + OpenMetricsText.seconds(startMs)
            + "&end=" + OpenMetricsText.seconds(endMs - 1)
        let separator = endpoint.url.contains("?") ? "&" : "?"
        let request = endpoint.getRequest(endpoint.url + separator + query)
        let url = endpoint.redactedURL
        let budget = memoryBudget ?? Int.max
        let timedOut = RemoteStorageError(.timeout, "\(url): the export took longer than \(Int(endpoint.requestTimeoutSeconds)) s "
            + "in all (--request-timeout); use a shorter --slab or a longer --request-timeout")
        var outcome = ReadOutcome(kind: .victoriaMetricsExport, peakBufferedBytes: 0, bodyBytes: 0, samples: 0)
        let response = try await endpoint.execute(request, on: client, shown: url, timedOut: timedOut, logger: logger)
        let status = Int(response.status.code)
        guard status == 200 else {
            let text = await ServerMessage.read(response)
            var hint = ""
            switch status {
            case 401, 403: hint = "; check the credentials (--basic-auth-user/--basic-auth-password-file, --bearer-token-file)"
            case 404: hint = "; the export API is /api/v1/export on a single-node VictoriaMetrics (http://host:8428) and "
                + "/select/<tenant>/prometheus/api/v1/export on a cluster's vmselect"
            default: break
            }
            throw RemoteStorageError(.httpStatus(status), "\(url) answered HTTP \(status)\(text.isEmpty ? "" : ": \(text)")\(hint)",
                                     retryAfterSeconds: response.headers.first(name: "Retry-After").flatMap(RetryAfter.parse))
        }
        let contentType = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        guard contentType.contains("json") else {
            throw RemoteStorageError(.protocolViolation, "\(url) answered with Content-Type \"\(contentType)\", not VictoriaMetrics' "
                + "JSON lines; is it a VictoriaMetrics export URL (…/api/v1/export)?")
        }
        var pending: [UInt8] = []
        func emitLines(_ complete: ArraySlice<UInt8>) async throws {
            for line in complete.split(separator: UInt8(ascii: "\n")) where line.contains(where: { $0 > 32 }) {
                var series: Series
                do {
                    series = try VictoriaMetricsExportLine.parse(line)
                } catch {
                    throw RemoteStorageError(.protocolViolation, "\(url): an export line is not what VictoriaMetrics writes (\(error)): "
                        + "\(String(decoding: line.prefix(120), as: UTF8.self))")
                }
                series.samples = Self.ordered(series.samples, startMs: startMs, endMs: endMs)
                guard !series.samples.isEmpty else { continue }
                outcome.peakBufferedBytes = max(outcome.peakBufferedBytes, line.count + series.samples.count * MemoryLayout<Sample>.stride)
                outcome.samples += series.samples.count
                do { try await emit(series) } catch { throw ConsumerError(underlying: error) }
            }
        }
        do {
            for try await buffer in response.body {
                outcome.bodyBytes += buffer.readableBytes
                pending += buffer.readableBytesView
                if let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) {
                    try await emitLines(pending[...lastNewline])
                    pending.removeSubrange(...lastNewline)
                }
                // One line is one series: past the budget, only a narrower range can help.
                if pending.count > budget {
                    throw RemoteStorageError(.overBudget, "\(url): one series' export line needs more than the \(budget) bytes this "
                        + "read may use (--max-memory divided among --concurrency reads)")
                }
            }
            try await emitLines(pending[...])
        } catch let error as ConsumerError {
            throw error.underlying
        } catch {
            throw RemoteReadClient.classify(error, url: url, requestTimedOut: timedOut)
        }
        return outcome
    }

    /// The samples inside `[startMs, endMs)` in time order, the first of any duplicate timestamp kept.
    static func ordered(_ samples: [Sample], startMs: Int64, endMs: Int64) -> [Sample] {
        var kept = samples.filter { $0.timestampMs >= startMs && $0.timestampMs < endMs }
        guard zip(kept, kept.dropFirst()).contains(where: { $0.timestampMs >= $1.timestampMs }) else { return kept }
        kept = kept.enumerated().sorted { ($0.element.timestampMs, $0.offset) < ($1.element.timestampMs, $1.offset) }.map(\.element)
        var unique: [Sample] = []
        for sample in kept where unique.last?.timestampMs != sample.timestampMs { unique.append(sample) }
        return unique
    }

    /// Asks a single-node VictoriaMetrics to make everything it acknowledged searchable
    /// (`/internal/force_flush` beside `/api/v1/export`). A cluster's vmselect has no such endpoint;
    /// any failure is ignored, as this only shortens the delay before new data shows.
    public func flush(logger: Logger) async {
        guard let range = endpoint.url.firstRange(of: "/api/v1/export") else { return }
        let request = endpoint.getRequest(String(endpoint.url[..<range.lowerBound]) + "/internal/force_flush")
        if let response = try? await client.execute(request, deadline: .now() + .seconds(30)) {
            _ = try? await response.body.collect(upTo: 1 << 20)
        }
    }
}

extension VictoriaMetricsExportClient: SeriesSource {
    public func checkReachable() async throws {
        try await Reachability.check(endpoint)
    }

    /// VictoriaMetrics has no external labels.
    public func externalLabels(logger: Logger) async -> [String: String] { [:] }

    public func metricNames(startMs: Int64, endMs: Int64, selectors: [SeriesSelector], logger: Logger) async throws -> [String] {
        let base = try MetricNamesQuery.apiBase(of: endpoint.url, suffix: "/api/v1/export", redacted: endpoint.redactedURL)
        return try await MetricNamesQuery.fetch(client: client, apiBase: base, endpoint: endpoint, startMs: startMs, endMs: endMs,
                                                selectors: selectors, logger: logger)
    }

    public func read(startMs: Int64, endMs: Int64, matchers: [LabelMatcher], memoryBudget: Int?, logger: Logger,
                     emit: (Series) async throws -> Void) async throws -> ReadOutcome {
        try await stream(startMs: startMs, endMs: endMs, selector: "{" + matchers.map(\.description).joined(separator: ",") + "}",
                         memoryBudget: memoryBudget, logger: logger, emit: emit)
    }
}
