import HTTPTransport
import BlockCompression
import FoundationEssentials
public import Logging
import NIOCore
import NIOHTTP1
public import PrometheusWire

/// One complete series of a read response: labels and its samples in the query range, sorted by
/// time with duplicate timestamps removed.
public typealias ReadSeries = Series

/// How the source answered a read.
public enum ReadResponseKind: String, Sendable, Codable {
    case streamedChunks = "streamed-xor-chunks"
    case samples = "samples"
    /// VictoriaMetrics' `/api/v1/export` JSON lines (`VictoriaMetricsExportClient`).
    case victoriaMetricsExport = "victoriametrics-export"
    /// Chunks read from TSDB blocks on disk (`--source-tsdb`).
    case tsdbBlocks = "tsdb-blocks"
}

/// What one read cost: how the source answered and the most response data held in memory at once.
public struct ReadOutcome: Sendable, Equatable {
    public var kind: ReadResponseKind
    /// Estimated peak of response data in memory: for a streamed reply the largest frame plus the
    /// largest series being assembled; for a SAMPLES reply the compressed body, the decompressed body
    /// and the decoded samples, which are all held at once.
    public var peakBufferedBytes: Int
    /// Response body bytes received.
    public var bodyBytes: Int
    /// Samples handed to the caller.
    public var samples: Int

    public init(kind: ReadResponseKind, peakBufferedBytes: Int, bodyBytes: Int, samples: Int) {
        self.kind = kind
        self.peakBufferedBytes = peakBufferedBytes
        self.bodyBytes = bodyBytes
        self.samples = samples
    }
}

/// A Prometheus remote-read client (protocol 0.1.0).
///
/// It offers `STREAMED_XOR_CHUNKS` first and `SAMPLES` second, and decides how to decode by the
/// reply's Content-Type, not by what it asked (InfluxDB 1.x answers samples whatever is asked).
/// Streamed replies are decoded frame by frame as they arrive; each complete series is handed to
/// the caller, so memory holds one series and one frame, not the whole reply.
public final class RemoteReadClient: Sendable {
    public struct Limits: Sendable {
        /// Largest streamed frame accepted (Prometheus' own client: 50 MB).
        public var maxFrameBytes: Int
        /// Largest SAMPLES body, compressed and decoded.
        public var maxSamplesBodyBytes: Int

        public init(maxFrameBytes: Int = 50_000_000, maxSamplesBodyBytes: Int = 512 << 20) {
            self.maxFrameBytes = maxFrameBytes
            self.maxSamplesBodyBytes = maxSamplesBodyBytes
        }
    }

    public let endpoint: EndpointConfiguration
    public let limits: Limits
    public let responseTypes: [ResponseType]
    private let client: HTTPTransport
    var clientForHelpers: HTTPTransport { client }
    static let userAgent = "promferry/\(PromferryVersion.current)"

    public init(endpoint: EndpointConfiguration, limits: Limits = Limits(),
                responseTypes: [ResponseType] = [.streamedXORChunks, .samples]) throws {
        self.endpoint = endpoint
        self.limits = limits
        self.responseTypes = responseTypes
        self.client = try HTTPClientFactory.make(for: endpoint)
    }

    /// Must be called once the client is no longer needed.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// Reads one half-open range `[startMs, endMs)` for the given matchers and hands every series to `emit`.
    ///
    /// `memoryBudget` bounds the response data held at once (see `ReadOutcome.peakBufferedBytes`). A
    /// reply that would exceed it is abandoned as soon as that is known (from Content-Length, the
    /// bytes received, snappy's declared length, or a series growing past it) with `.overBudget`, so
    /// that the caller can read the range again in smaller pieces instead of buffering it.
    ///
    /// - Returns: how the server answered and what the reply cost.
    /// - Throws: `RemoteStorageError`. When it throws, `emit` may already have received part of the
    ///   range: the caller must discard what it got (a partial slab is never committed).
    @discardableResult
    public func read(startMs: Int64, endMs: Int64, matchers: [LabelMatcher], memoryBudget: Int? = nil, logger: Logger,
                     emit: (ReadSeries) async throws -> Void) async throws -> ReadOutcome {
        let query = Query(startMs: startMs, endMsInclusive: endMs - 1, matchers: matchers)
        let body = Snappy.compress(ReadRequest(queries: [query], acceptedResponseTypes: responseTypes).encode())
        var request = HTTPTransport.Request(url: endpoint.url)
        request.method = .POST
        request.headers = headers()
        request.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        request.body = ByteBuffer(bytes: body)

        let deadline = ContinuousClock.now + .milliseconds(Int64(endpoint.requestTimeoutSeconds * 1000))
        let response: HTTPTransport.Response
        do {
            response = try await client.execute(request, deadline: .now() + .milliseconds(Int64(endpoint.requestTimeoutSeconds * 1000)))
        } catch {
            throw classified(error)
        }
        try await checkStatus(response)
        let contentType = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmedOfSpaces() } ?? ""
        var assembler = SeriesAssembler(startMs: startMs, endMs: endMs)
        var outcome = ReadOutcome(kind: .streamedChunks, peakBufferedBytes: 0, bodyBytes: 0, samples: 0)
        let budget = memoryBudget ?? Int.max
        switch mediaType {
        case "application/x-streamed-protobuf":
            var frames = ChunkedFrameDecoder(maxFrameBytes: limits.maxFrameBytes)
            // Errors of `emit` belong to the caller and pass through unchanged; only the
            // transport's and the decoder's are classified here.
            do {
                for try await buffer in response.body {
                    try checkDeadline(deadline)
                    outcome.bodyBytes += buffer.readableBytes
                    frames.append(buffer.readableBytesView)
                    while let message = try frames.nextFrame() {
                        let chunked = try ChunkedReadResponse.decode(message)
                        for series in chunked.series {
                            if let done = try assembler.add(chunkedSeries: series) {
                                outcome.samples += done.sampleCount
                                do { try await emit(done) } catch { throw ConsumerError(underlying: error) }
                            }
                        }
                        let held = message.count + assembler.bufferedBytes
                        outcome.peakBufferedBytes = max(outcome.peakBufferedBytes, held)
                        if held > budget { throw overBudget(held, budget, "one series of this slab") }
                    }
                }
                try frames.finish()
            } catch let error as ConsumerError {
                throw error.underlying
            } catch let error as WireError {
                throw Self.wireFailure(error, url: endpoint.redactedURL)
            } catch {
                throw classified(error)
            }
            if let last = try assembler.finish() {
                outcome.samples += last.sampleCount
                try await emit(last)
            }
            return outcome
        case "application/x-protobuf":
            outcome.kind = .samples
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > budget {
                throw overBudget(length, budget, "the reply (Content-Length)")
            }
            let compressed = try await collect(response, what: "SAMPLES response", budget: budget)
            outcome.bodyBytes = compressed.count
            let results: [[WireTimeSeries]]
            do {
                // Compressed body, decompressed body and decoded samples are held at once; the decoded
                // form takes about as much as the decompressed protobuf.
                // A declared length over the absolute limit is refused by `decompress` as hostile; below
                // it, one over the budget is a reply to read again in smaller pieces.
                let declared = try Snappy.declaredLength(compressed)
                let held = compressed.count + 2 * declared
                outcome.peakBufferedBytes = held
                if held > budget && declared <= limits.maxSamplesBodyBytes {
                    throw overBudget(held, budget, "the decompressed reply")
                }
                let decoded = try Snappy.decompress(compressed, maxOutputBytes: limits.maxSamplesBodyBytes)
                results = try ReadResponse.decode(decoded)
            } catch let error as CompressionError {
                throw RemoteStorageError(.protocolViolation, "\(endpoint.redactedURL) sent a SAMPLES body that is not valid snappy: \(error.message)")
            } catch let error as WireError {
                throw Self.wireFailure(error, url: endpoint.redactedURL)
            }
            guard results.count == 1 else {
                throw RemoteStorageError(.protocolViolation,
                    "\(endpoint.redactedURL) answered \(results.count) query results to 1 query")
            }
            for series in results[0] {
                if let done = try assembler.add(samplesSeries: series) {
                    outcome.samples += done.sampleCount
                    try await emit(done)
                }
            }
            if let last = try assembler.finish() {
                outcome.samples += last.sampleCount
                try await emit(last)
            }
            return outcome
        default:
            let snippet = await ServerMessage.read(response)
            throw RemoteStorageError(.protocolViolation,
                "\(endpoint.redactedURL) answered with Content-Type \"\(contentType)\", not a remote-read response; "
                + "is this the remote-read endpoint (e.g. http://host:9090/api/v1/read)?"
                + (snippet.isEmpty ? "" : " It said: \(snippet)"))
        }
    }

    private func checkDeadline(_ deadline: ContinuousClock.Instant) throws {
        guard ContinuousClock.now < deadline else { throw requestTimedOut() }
    }

    /// The whole request outlived `--request-timeout`. Both this client's own check between body
    /// parts and the HTTP client's deadline (set to the same limit) end here, whichever fires first.
    private func requestTimedOut() -> RemoteStorageError {
        RemoteStorageError(.timeout, "\(endpoint.redactedURL): the response took longer than \(Int(endpoint.requestTimeoutSeconds)) s "
            + "in all (--request-timeout); the server is too slow for this slab: use a shorter --slab or a longer --request-timeout")
    }

    private func classified(_ error: any Error) -> any Error {
        Self.classify(error, url: endpoint.redactedURL, requestTimedOut: requestTimedOut())
    }

    func headers() -> HTTPHeaders {
        var headers = HTTPHeaders()
        for (name, value) in endpoint.headers { headers.add(name: name, value: value) }
        // Protocol headers come last and replace any user header of the same name.
        headers.replaceOrAdd(name: "Content-Type", value: "application/x-protobuf")
        headers.replaceOrAdd(name: "Content-Encoding", value: "snappy")
        headers.replaceOrAdd(name: "Accept-Encoding", value: "snappy")
        headers.replaceOrAdd(name: "X-Prometheus-Remote-Read-Version", value: "0.1.0")
        headers.replaceOrAdd(name: "User-Agent", value: Self.userAgent)
        if let authorization = endpoint.authorizationHeader { headers.replaceOrAdd(name: "Authorization", value: authorization) }
        return headers
    }

    private func checkStatus(_ response: HTTPTransport.Response) async throws {
        let status = Int(response.status.code)
        if (200..<300).contains(status) { return }
        let snippet = await ServerMessage.read(response)
        let url = endpoint.redactedURL
        if (300..<400).contains(status) {
            let location = response.headers.first(name: "Location").map(URLRedaction.redact) ?? "?"
            throw RemoteStorageError(.redirect, "\(url) redirects (HTTP \(status)) to \(location); redirects are not "
                + "followed so that credentials stay with the host you named: use the final URL")
        }
        if status == 400 && snippet.contains("exceeded sample limit") {
            throw RemoteStorageError(.sampleLimitExceeded, "\(url): \(snippet)")
        }
        if snippet.contains(Self.gaugeHistogramFailure) { throw Self.gaugeHistogramError(url) }
        var hint = ""
        switch status {
        case 401, 403: hint = "; check the credentials (--basic-auth-user/--basic-auth-password-file, --bearer-token-file)"
        case 404: hint = "; check the path of --source-url (Prometheus: /api/v1/read)"
        case 405: hint = "; the URL does not accept POST: is it the remote-read endpoint?"
        default: break
        }
        throw RemoteStorageError(.httpStatus(status),
            "\(url) answered HTTP \(status)\(snippet.isEmpty ? "" : ": \(snippet)")\(hint)",
            retryAfterSeconds: response.headers.first(name: "Retry-After").flatMap(RetryAfter.parse))
    }

    private func overBudget(_ bytes: Int, _ budget: Int, _ what: String) -> RemoteStorageError {
        RemoteStorageError(.overBudget, "\(endpoint.redactedURL): \(what) needs about \(bytes) bytes of memory, more than the "
            + "\(budget) bytes this read may use (--max-memory divided among --concurrency reads)")
    }

    private func collect(_ response: HTTPTransport.Response, what: String, budget: Int) async throws -> [UInt8] {
        do {
            let buffer = try await response.body.collect(upTo: min(limits.maxSamplesBodyBytes, budget))
            return Array(buffer.readableBytesView)
        } catch let error as HTTPTransportError where error.code == .bodyTooLarge && budget < limits.maxSamplesBodyBytes {
            throw overBudget(budget + 1, budget, "the reply")
        } catch let error as HTTPTransportError where error.code == .bodyTooLarge {
            throw RemoteStorageError(.tooLarge, "\(endpoint.redactedURL): \(what) is larger than \(limits.maxSamplesBodyBytes) bytes; "
                + "use a shorter --slab")
        } catch {
            throw classified(error)
        }
    }

    /// What Prometheus before 3.0 answers, as a 500 or mid-stream, when it re-encodes a histogram chunk
    /// (one still open, or one the read range cuts) holding a gauge histogram whose counts go down.
    static let gaugeHistogramFailure = "detected unexpected counter reset in histogram"

    static func gaugeHistogramError(_ url: String) -> RemoteStorageError {
        RemoteStorageError(.unstorable, "\(url) failed with \"\(gaugeHistogramFailure)\": Prometheus before 3.0 re-encodes a "
            + "histogram chunk that is still open or that the read range cuts, and fails when it is a gauge histogram whose counts "
            + "go down; retrying cannot help: upgrade the source to Prometheus 3, or leave the gauge histogram series out with --match")
    }

    static func wireFailure(_ error: WireError, url: String) -> RemoteStorageError {
        if error.message.contains(gaugeHistogramFailure) { return gaugeHistogramError(url) }
        return switch error.code {
        case .truncated: RemoteStorageError(.truncated, "\(url): response cut off: \(error.message)")
        case .frameTooLarge: RemoteStorageError(.tooLarge, "\(url): \(error.message)")
        default: RemoteStorageError(.protocolViolation, "\(url): invalid response: \(error.message)")
        }
    }

    /// The transport's error as a `RemoteStorageError` an operator can act on. `requestTimedOut` is what
    /// the client says when the HTTP client's deadline, which it sets to `--request-timeout`, passes.
    static func classify(_ error: any Error, url: String, requestTimedOut: @autoclosure () -> RemoteStorageError) -> any Error {
        if error is RemoteStorageError || error is CancellationError { return error }
        if let http = error as? HTTPTransportError {
            switch http.code {
            case .deadlineExceeded:
                return requestTimedOut()
            case .connectTimeout, .readTimeout:
                return RemoteStorageError(.timeout, "\(url): timed out (\(http)); is the server up and reachable?", cause: http)
            case .remoteConnectionClosed:
                return RemoteStorageError(.truncated, "\(url): the server closed the connection mid-response", cause: http)
            case .invalidResponse:
                return RemoteStorageError(.protocolViolation, "\(url): \(http)", cause: http)
            case .invalidURL, .bodyTooLarge, .shutDown:
                return RemoteStorageError(.transport, "\(url): \(http)", cause: http)
            }
        }
        if let tls = TLSFailure.classify(error, url: url) { return tls }
        if TransportFailure.isConnectionRefused(error) {
            return RemoteStorageError(.transport, "\(url): connection refused; is the server running and is the port right?", cause: error)
        }
        return RemoteStorageError(.transport, "\(url): \(error)", cause: error)
    }
}

/// Wraps an error thrown by the caller's `emit`, so that it is not mistaken for a transport error.
struct ConsumerError: Error {
    let underlying: any Error
}

/// Parses `Retry-After`: delay seconds or an HTTP date.
enum RetryAfter {
    static func parse(_ value: String) -> Double? {
        let trimmed = value.trimmedOfSpaces()
        if let seconds = Double(trimmed), seconds >= 0 { return seconds }
        guard let seconds = httpDate(trimmed) else { return nil }
        return max(0, Double(seconds) - Date().timeIntervalSince1970)
    }

    /// Seconds since the epoch of an IMF-fixdate (RFC 9110: `Sun, 06 Nov 1994 08:49:37 GMT`).
    static func httpDate(_ text: String) -> Int64? {
        let fields = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard fields.count == 6, fields[0].hasSuffix(","), fields[5] == "GMT" || fields[5] == "UTC",
              let day = Int(fields[1]), let monthIndex = months.firstIndex(of: String(fields[2])), let year = Int(fields[3]) else { return nil }
        let clock = fields[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (1...31).contains(day), (0..<24).contains(clock[0]), (0..<60).contains(clock[1]),
              (0...60).contains(clock[2]) else { return nil }
        // Days from 1970-01-01 to the civil date (proleptic Gregorian).
        let month = monthIndex + 1
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Int64(days) * 86_400 + Int64(clock[0] * 3600 + clock[1] * 60 + clock[2])
    }
}
