import BlockCompression
import Logging
import PeerHarness
import PrometheusWire
@testable import RemoteStorageClient
import Testing
import TestSupport

let logger = Logger(label: "test")

func sampleSeries(_ name: String, count: Int, start: Int64 = 1_000_000, step: Int64 = 15_000) -> Series {
    Series(labels: Labels(sorting: [Label("__name__", name), Label("job", "t")]),
           samples: (0..<count).map { Sample(timestampMs: start + Int64($0) * step, value: Double($0) * 0.5) })
}

/// Runs one read against a scripted server and returns what arrived (or the error).
func readOnce(_ script: @escaping @Sendable (RecordedRequest, Int) -> ScriptedReply,
              endpoint: (String) -> EndpointConfiguration = { EndpointConfiguration(url: $0, readTimeoutSeconds: 30) },
              startMs: Int64 = 0, endMs: Int64 = 10_000_000, memoryBudget: Int? = nil) async throws -> (Result<([Series], ReadOutcome), any Error>, [RecordedRequest]) {
    let server = try await ScriptedHTTPServer(script: script)
    let client = try RemoteReadClient(endpoint: endpoint(server.baseURL + "/api/v1/read"))
    var got: [Series] = []
    let result: Result<([Series], ReadOutcome), any Error>
    do {
        let outcome = try await client.read(startMs: startMs, endMs: endMs, matchers: SeriesSelector.everySeries.matchers,
                                            memoryBudget: memoryBudget, logger: logger) { got.append($0) }
        result = .success((got, outcome))
    } catch {
        result = .failure(error)
    }
    try await client.shutdown()
    try await server.shutdown()
    return (result, server.received)
}

@Suite struct RemoteReadClientTests {
    static let data = [sampleSeries("a", count: 300), sampleSeries("b", count: 5)]

    @Test func readsStreamedChunksAndSendsTheProtocolHeaders() async throws {
        let source = FakeRemoteReadSource(series: Self.data)
        let (result, requests) = try await readOnce({ request, _ in source.answer(request.body) })
        let (series, outcome) = try result.get()
        #expect(outcome.kind == .streamedChunks)
        #expect(series == Self.data)
        let request = try #require(requests.first)
        #expect(request.method == "POST")
        #expect(request.header("Content-Encoding") == "snappy")
        #expect(request.header("Content-Type") == "application/x-protobuf")
        #expect(request.header("X-Prometheus-Remote-Read-Version") == "0.1.0")
        #expect(request.header("User-Agent")?.hasPrefix("promferry/") == true)
        let decoded = try ReadRequest.decode(try Snappy.decompress(request.body, maxOutputBytes: 1 << 20))
        #expect(decoded.acceptedResponseTypes == [.streamedXORChunks, .samples])
        #expect(decoded.queries[0].startMs == 0)
        #expect(decoded.queries[0].endMsInclusive == 9_999_999)
    }

    @Test func decidesByContentTypeNotByWhatItAsked() async throws {
        let source = FakeRemoteReadSource(series: Self.data, samplesOnly: true)
        let (result, _) = try await readOnce({ request, _ in source.answer(request.body) })
        let (series, outcome) = try result.get()
        #expect(outcome.kind == .samples)
        #expect(series == Self.data)
    }

    @Test func trimsToTheHalfOpenRange() async throws {
        // Serve whole chunks regardless of the range asked, as a TSDB may.
        let everything = FakeRemoteReadSource(series: Self.data).answer(Snappy.compress(ReadRequest(
            queries: [Query(startMs: 0, endMsInclusive: .max, matchers: [])], acceptedResponseTypes: [.streamedXORChunks]).encode()))
        let (result, _) = try await readOnce({ _, _ in everything }, startMs: 1_015_000, endMs: 1_060_000)
        let (series, _) = try result.get()
        #expect(series.map(\.samples.count) == [3, 3])
        #expect(series[0].samples.first?.timestampMs == 1_015_000)
        #expect(series[0].samples.last?.timestampMs == 1_045_000)
    }

    @Test(arguments: [
        (500, true), (502, true), (503, true), (429, true), (400, false), (401, false), (403, false), (404, false), (422, false),
    ])
    func classifiesStatusCodes(_ status: Int, _ retryable: Bool) async throws {
        let (result, _) = try await readOnce({ _, _ in
            .respond(status: status, headers: [("Retry-After", "7")], body: Array("server says no\nsecond line".utf8))
        })
        guard case .failure(let error) = result, let failure = error as? RemoteStorageError else {
            Issue.record("expected a RemoteStorageError, got \(result)")
            return
        }
        #expect(failure.code == .httpStatus(status))
        #expect(failure.isRetryable == retryable)
        #expect(failure.retryAfterSeconds == 7)
        #expect(failure.message.contains("HTTP \(status): server says no second line"))
    }

    @Test func reportsTheSampleLimitAsItsOwnKind() async throws {
        let source = FakeRemoteReadSource(series: Self.data, samplesOnly: true, sampleLimit: 10)
        let (result, _) = try await readOnce({ request, _ in source.answer(request.body) })
        guard case .failure(let error as RemoteStorageError) = result else { Issue.record("expected failure"); return }
        #expect(error.code == .sampleLimitExceeded)
        #expect(!error.isRetryable)
    }

    @Test func aStreamCutMidFrameIsARetryableFailure() async throws {
        let source = FakeRemoteReadSource(series: Self.data)
        let (result, _) = try await readOnce({ request, _ in
            guard case .respond(_, let headers, let body) = source.answer(request.body) else { return .close }
            return .truncate(status: 200, headers: headers, body: body, afterBytes: body.count - 10)
        })
        guard case .failure(let error as RemoteStorageError) = result else { Issue.record("expected failure, got \(result)"); return }
        #expect(error.isRetryable)
    }

    @Test func aCorruptFrameIsReported() async throws {
        let source = FakeRemoteReadSource(series: Self.data)
        let (result, _) = try await readOnce({ request, _ in
            guard case .respond(let status, let headers, var body) = source.answer(request.body) else { return .close }
            body[body.count - 3] ^= 0xff
            return .respond(status: status, headers: headers, body: body)
        })
        guard case .failure(let error as RemoteStorageError) = result else { Issue.record("expected failure"); return }
        #expect(error.code == .protocolViolation)
        #expect(error.message.contains("CRC-32C mismatch"))
    }

    @Test func aResetConnectionIsRetryable() async throws {
        let (result, _) = try await readOnce({ _, _ in .close })
        guard case .failure(let error as RemoteStorageError) = result else { Issue.record("expected failure, got \(result)"); return }
        #expect(error.isRetryable)
    }

    @Test func aSilentServerTimesOut() async throws {
        let (result, _) = try await readOnce({ _, _ in .delay(milliseconds: 5000, then: .close) },
                                             endpoint: { EndpointConfiguration(url: $0, readTimeoutSeconds: 0.5) })
        guard case .failure(let error as RemoteStorageError) = result else { Issue.record("expected failure, got \(result)"); return }
        #expect(error.code == .timeout)
        #expect(error.isRetryable)
    }

    @Test func anHTMLPageIsNotMistakenForData() async throws {
        let (result, _) = try await readOnce({ _, _ in
            .respond(status: 200, headers: [("Content-Type", "text/html")], body: Array("<html><body>Login</body></html>".utf8))
        })
        guard case .failure(let error as RemoteStorageError) = result else { Issue.record("expected failure"); return }
        #expect(error.code == .protocolViolation)
        #expect(error.message.contains("text/html"))
        #expect(error.message.contains("/api/v1/read"))
    }

    @Test func redirectsAreNotFollowed() async throws {
        let (result, requests) = try await readOnce({ _, _ in
            .respond(status: 302, headers: [("Location", "http://user:secret@127.0.0.1:1/elsewhere")], body: [])
        }, endpoint: { EndpointConfiguration(url: $0, authentication: .basic(username: "u", password: "hunter2")) })
        guard case .failure(let error as RemoteStorageError) = result else { Issue.record("expected failure"); return }
        #expect(error.code == .redirect)
        #expect(!error.message.contains("secret"))
        #expect(requests.count == 1)
    }

    /// An encoding this version does not know stops the read, naming the series and the number; a
    /// histogram chunk that ends early is a protocol violation, not a dropped series.
    @Test(arguments: [(7, "chunk encoding 7 is unknown"), (2, "corrupt histogram chunk")] as [(UInt64, String)])
    func chunksThatCannotBeDecodedStopWithTheSeriesNamed(_ encoding: UInt64, _ message: String) async throws {
        let (result, _) = try await readOnce({ _, _ in
            let chunk = Chunk(minTimeMs: 1_000_000, maxTimeMs: 1_000_000, encodingRaw: encoding, data: [0, 1, 0])
            let labels = Labels(sorting: [Label("__name__", "rpc_latency_seconds"), Label("job", "x")])
            let frame = ChunkedFrameDecoder.frame(ChunkedReadResponse(series: [ChunkedSeries(labels: labels, chunks: [chunk])],
                                                                      queryIndex: 0).encode())
            return .respond(status: 200, headers: [("Content-Type", FakeRemoteReadSource.streamedContentType)], body: frame)
        })
        guard case .failure(let error as RemoteStorageError) = result else { Issue.record("expected failure"); return }
        #expect(error.code == (encoding == 7 ? .unstorable : .protocolViolation))
        #expect(!error.isRetryable || encoding == 2)
        #expect(error.message.contains("rpc_latency_seconds"))
        #expect(error.message.contains(message), "\(error.message)")
    }

    /// SAMPLES answers carry native histograms in `TimeSeries.histograms` (Prometheus 2.44 and later).
    @Test func samplesAnswersCarryHistograms() async throws {
        let history = HistogramHistory(seriesCount: 6, startMs: 0, endMs: 600_000).series()
        let source = FakeRemoteReadSource(series: history, samplesOnly: true)
        let (result, _) = try await readOnce({ request, _ in source.answer(request.body) })
        let (series, outcome) = try result.get()
        #expect(outcome.kind == .samples)
        #expect(series == history.sorted { $0.labels < $1.labels })
    }

    @Test func sendsCredentialsAndHeadersButKeepsProtocolHeaders() async throws {
        let source = FakeRemoteReadSource(series: Self.data)
        let (_, requests) = try await readOnce({ request, _ in source.answer(request.body) }, endpoint: {
            EndpointConfiguration(url: $0, authentication: .bearer(token: "tok"),
                                  headers: [("X-Scope-OrgID", "tenant1"), ("Content-Type", "text/plain")])
        })
        let request = try #require(requests.first)
        #expect(request.header("Authorization") == "Bearer tok")
        #expect(request.header("X-Scope-OrgID") == "tenant1")
        #expect(request.header("Content-Type") == "application/x-protobuf")
    }

    @Test func mergesFramesOfOneSeriesAndSortsOverlappingChunks() async throws {
        let s = sampleSeries("m", count: 10)
        let (result, _) = try await readOnce({ _, _ in
            // Two frames for one series; the second frame's chunk overlaps and repeats a timestamp.
            let first = Array(s.samples[0..<6]), second = Array(s.samples[4..<10])
            var body: [UInt8] = []
            for part in [second, first] {
                let chunk = Chunk(minTimeMs: part.first!.timestampMs, maxTimeMs: part.last!.timestampMs, encodingRaw: 1,
                                  data: XORChunk.encode(part))
                body += ChunkedFrameDecoder.frame(ChunkedReadResponse(series: [ChunkedSeries(labels: s.labels, chunks: [chunk])],
                                                                      queryIndex: 0).encode())
            }
            return .respond(status: 200, headers: [("Content-Type", FakeRemoteReadSource.streamedContentType)], body: body)
        })
        let (series, _) = try result.get()
        #expect(series == [s])
    }
}

@Suite struct RedactionTests {
    @Test func removesUserInfoAndQueryValues() {
        #expect(URLRedaction.redact("https://alice:s3cret@host:9090/api/v1/read") == "https://host:9090/api/v1/read")
        #expect(URLRedaction.redact("http://host/api/v1/prom/read?db=x&p=pw") == "http://host/api/v1/prom/read?db=REDACTED&p=REDACTED")
        #expect(URLRedaction.redact("http://host/a@b") == "http://host/a@b")
    }

    @Test func parsesRetryAfter() {
        #expect(RetryAfter.parse("120") == 120)
        #expect(RetryAfter.parse("soon") == nil)
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT") == 0)
    }

    @Test func readsExternalLabelsFromPrometheusYAML() {
        let yaml = """
        global:
          scrape_interval: 1m
          external_labels:
            cluster: "eu-1"
            replica: 'a'
        scrape_configs: []
        """
        #expect(RemoteReadClient.parseExternalLabels(yaml: yaml) == ["cluster": "eu-1", "replica": "a"])
    }
}
