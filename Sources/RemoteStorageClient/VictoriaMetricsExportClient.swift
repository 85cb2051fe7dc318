import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PrometheusWire

/// Reads raw samples back from VictoriaMetrics, which has no remote read, through its
/// `/api/v1/export`: JSON lines of `{"metric":{…},"values":[…],"timestamps":[…]}`, where one series
/// may come as several lines (one per stored block).
///
/// Values keep their bits as VictoriaMetrics prints them (shortest round-trip form). It exports the
/// staleness marker as `NaN` or `null` (1.79 writes both, by version of the code path), and it drops
/// every other NaN on ingestion, so any NaN read here is taken as the staleness marker.
public final class VictoriaMetricsExportClient: Sendable {
    public let endpoint: EndpointConfiguration
    private let client: HTTPClient

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
        // `end` is inclusive and both take seconds with millisecond decimals.
        let query = "match%5B%5D=" + Self.percentEncoded(selector) + "&start=" + OpenMetricsText.seconds(startMs)
            + "&end=" + OpenMetricsText.seconds(endMs - 1)
        let separator = endpoint.url.contains("?") ? "&" : "?"
        var request = HTTPClientRequest(url: endpoint.url + separator + query)
        request.method = .GET
        for (name, value) in endpoint.headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "User-Agent", value: RemoteReadClient.userAgent)
        if let authorization = endpoint.authorizationHeader { request.headers.replaceOrAdd(name: "Authorization", value: authorization) }
        let url = endpoint.redactedURL
        let timeout = TimeAmount.milliseconds(Int64(endpoint.requestTimeoutSeconds * 1000))
        let timedOut = RemoteStorageError(.timeout, "\(url) did not answer within \(Int(endpoint.requestTimeoutSeconds)) s "
            + "(--request-timeout)")
        var series: [Labels: [Sample]] = [:]
        do {
            let response = try await client.execute(request, timeout: timeout, logger: logger)
            let status = Int(response.status.code)
            guard status == 200 else {
                let text = await ServerMessage.read(response)
                throw RemoteStorageError(.httpStatus(status), "\(url) answered HTTP \(status)\(text.isEmpty ? "" : ": \(text)")"
                    + (status == 404 ? "; a VictoriaMetrics export URL ends in /api/v1/export" : ""),
                    retryAfterSeconds: response.headers.first(name: "Retry-After").flatMap(RetryAfter.parse))
            }
            var pending: [UInt8] = []
            for try await buffer in response.body {
                pending += buffer.readableBytesView
                guard let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) else { continue }
                try Self.parseLines(pending[...lastNewline], into: &series, url: url, startMs: startMs, endMs: endMs)
                pending.removeSubrange(...lastNewline)
            }
            try Self.parseLines(pending[...], into: &series, url: url, startMs: startMs, endMs: endMs)
        } catch {
            throw RemoteReadClient.classify(error, url: url, requestTimedOut: timedOut)
        }
        return series.mapValues { $0.sorted { $0.timestampMs < $1.timestampMs } }
    }

    /// Asks a single-node VictoriaMetrics to make everything it acknowledged searchable
    /// (`/internal/force_flush` beside `/api/v1/export`). A cluster's vmselect has no such endpoint;
    /// any failure is ignored, as this only shortens the delay before new data shows.
    public func flush(logger: Logger) async {
        guard let range = endpoint.url.range(of: "/api/v1/export") else { return }
        var request = HTTPClientRequest(url: String(endpoint.url[..<range.lowerBound]) + "/internal/force_flush")
        request.method = .GET
        if let authorization = endpoint.authorizationHeader { request.headers.replaceOrAdd(name: "Authorization", value: authorization) }
        if let response = try? await client.execute(request, timeout: .seconds(30), logger: logger) {
            _ = try? await response.body.collect(upTo: 1 << 20)
        }
    }

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// One export line.
    struct Line: Decodable {
        let metric: [String: String]
        let values: [Value]
        let timestamps: [Int64]
    }

    /// A value as bits: a JSON number, `null`, or the words NaN and ±Inf (quoted by `parseLines`).
    struct Value: Decodable {
        let bits: UInt64
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { bits = Sample.staleNaNBits; return }
            if let number = try? container.decode(Double.self) { bits = number.bitPattern; return }
            switch try container.decode(String.self).lowercased() {
            case "+inf", "inf": bits = Double.infinity.bitPattern
            case "-inf": bits = (-Double.infinity).bitPattern
            case "nan": bits = Sample.staleNaNBits
            default: throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a sample value")
            }
        }
    }

    /// Bare NaN and Inf are not JSON: they are quoted inside the values array, and only there (the
    /// key `"values":[` cannot occur inside a JSON string, whose quotes are escaped).
    static func quotingBareWords(_ line: String) -> String {
        guard let open = line.range(of: "\"values\":["), let close = line[open.upperBound...].firstIndex(of: "]") else { return line }
        var values = String(line[open.upperBound..<close])
        guard values.contains(where: { $0 == "N" || $0 == "I" }) else { return line }
        values = values.split(separator: ",", omittingEmptySubsequences: false).map { item in
            let word = item.trimmingCharacters(in: .whitespaces)
            return ["NaN", "Inf", "+Inf", "-Inf"].contains(word) ? "\"\(word)\"" : String(item)
        }.joined(separator: ",")
        return String(line[..<open.upperBound]) + values + String(line[close...])
    }

    /// Adds the samples in `[startMs, endMs)` of every complete line in `bytes` to `series`.
    static func parseLines(_ bytes: ArraySlice<UInt8>, into series: inout [Labels: [Sample]], url: String,
                           startMs: Int64, endMs: Int64) throws {
        for rawLine in bytes.split(separator: UInt8(ascii: "\n")) where !rawLine.allSatisfy({ $0 == 32 || $0 == 13 }) {
            let text = quotingBareWords(String(decoding: rawLine, as: UTF8.self))
            let line: Line
            do {
                line = try JSONDecoder().decode(Line.self, from: Data(text.utf8))
            } catch {
                throw RemoteStorageError(.protocolViolation, "\(url): an export line is not what VictoriaMetrics writes "
                    + "(\(text.prefix(120))…): is the URL a VictoriaMetrics /api/v1/export?")
            }
            guard line.values.count == line.timestamps.count else {
                throw RemoteStorageError(.protocolViolation, "\(url): an export line has \(line.values.count) values "
                    + "but \(line.timestamps.count) timestamps")
            }
            let labels = Labels(sorting: line.metric.map { Label($0.key, $0.value) })
            for (value, t) in zip(line.values, line.timestamps) where t >= startMs && t < endMs {
                series[labels, default: []].append(Sample(timestampMs: t, valueBits: value.bits))
            }
        }
    }
}
