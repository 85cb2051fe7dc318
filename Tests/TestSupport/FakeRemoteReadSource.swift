import BlockCompression
import Foundation
public import PrometheusWire

/// Serves remote-read requests from an in-memory data set the way Prometheus does: streamed XOR
/// chunks (one frame per series, chunks of 120 samples) when asked for them first, else SAMPLES.
/// Native histograms are served in SAMPLES answers only (this source has no histogram chunk encoder).
public struct FakeRemoteReadSource: Sendable {
    public let series: [Series]
    /// Answer SAMPLES whatever is asked (as InfluxDB 1.x does).
    public var samplesOnly = false
    /// Answer 400 "exceeded sample limit" when a SAMPLES answer would hold more samples than this.
    public var sampleLimit: Int?

    public init(series: [Series], samplesOnly: Bool = false, sampleLimit: Int? = nil) {
        self.series = series.sorted { $0.labels < $1.labels }
        self.samplesOnly = samplesOnly
        self.sampleLimit = sampleLimit
    }

    public static let streamedContentType = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"

    /// The complete, correct answer to a request body.
    public func answer(_ requestBody: [UInt8]) -> ScriptedReply {
        guard let decoded = try? Snappy.decompress(requestBody, maxOutputBytes: 1 << 24),
              let request = try? ReadRequest.decode(decoded) else {
            return .respond(status: 400, headers: [], body: Array("bad request\n".utf8))
        }
        let streamed = !samplesOnly && request.acceptedResponseTypes.first == .streamedXORChunks
        if streamed {
            var body: [UInt8] = []
            for (index, query) in request.queries.enumerated() {
                for s in selected(query) {
                    precondition(s.histograms.isEmpty, "FakeRemoteReadSource serves native histograms in SAMPLES answers only")
                    let chunks = stride(from: 0, to: s.samples.count, by: 120).map { start -> Chunk in
                        let part = Array(s.samples[start..<min(start + 120, s.samples.count)])
                        return Chunk(minTimeMs: part.first!.timestampMs, maxTimeMs: part.last!.timestampMs,
                                     encodingRaw: 1, data: XORChunk.encode(part))
                    }
                    body += ChunkedFrameDecoder.frame(ChunkedReadResponse(series: [ChunkedSeries(labels: s.labels, chunks: chunks)],
                                                                          queryIndex: Int64(index)).encode())
                }
            }
            return .respond(status: 200, headers: [("Content-Type", Self.streamedContentType)], body: body)
        }
        let results = request.queries.map { query in
            selected(query).map { WireTimeSeries(labels: $0.labels, samples: $0.samples, histograms: $0.histograms) }
        }
        let total = results.flatMap { $0 }.reduce(0) { $0 + $1.samples.count }
        if let sampleLimit, total > sampleLimit {
            return .respond(status: 400, headers: [], body: Array("exceeded sample limit (\(sampleLimit))\n".utf8))
        }
        return .respond(status: 200, headers: [("Content-Type", "application/x-protobuf"), ("Content-Encoding", "snappy")],
                        body: Snappy.compress(ReadResponse.encode(results)))
    }

    /// Series matching every matcher, with samples inside the query's inclusive range.
    func selected(_ query: Query) -> [Series] {
        series.compactMap { s in
            guard query.matchers.allSatisfy({ Self.matches($0, s.labels) }) else { return nil }
            let samples = s.samples.filter { $0.timestampMs >= query.startMs && $0.timestampMs <= query.endMsInclusive }
            let histograms = s.histograms.filter { $0.timestampMs >= query.startMs && $0.timestampMs <= query.endMsInclusive }
            return samples.isEmpty && histograms.isEmpty ? nil : Series(labels: s.labels, samples: samples, histograms: histograms)
        }
    }

    static func matches(_ matcher: LabelMatcher, _ labels: Labels) -> Bool {
        let value = labels[matcher.name] ?? ""
        switch matcher.type {
        case .equal: return value == matcher.value
        case .notEqual: return value != matcher.value
        case .regexMatch, .regexNoMatch:
            let regex = try! NSRegularExpression(pattern: "^(?:\(matcher.value))$", options: [.dotMatchesLineSeparators])
            let found = regex.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
            return matcher.type == .regexMatch ? found : !found
        }
    }
}
