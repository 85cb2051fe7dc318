public import NIOCore
public import NIOHTTP1
import NIOPosix
public import NIOSSL
import Synchronization

/// A small HTTP/1.1 client on SwiftNIO: what promferry's remote-read, remote-write, export-API and
/// S3 clients need, and nothing that pulls in Foundation.
///
/// - Connections are kept alive and pooled per scheme, host and port; a pooled connection is used
///   again only if it is still open. Nothing is sent twice: a failed exchange fails, and the caller's
///   retry policy decides (and counts, and logs) what happens next.
/// - Redirects are never followed (they are answers like any other), and bodies are passed on as
///   received (no decompression).
/// - Three time limits: the TCP connect timeout, the read timeout (no byte for that long while an
///   answer is awaited), and each exchange's deadline (the whole exchange, body included).
/// - A task cancelled while it waits, or that stops reading a body, closes its connection.
public final class HTTPTransport: Sendable {
    public struct Configuration: Sendable {
        public var connectTimeout: TimeAmount
        public var readTimeout: TimeAmount
        /// For https:// URLs; the system's trust roots when nil.
        public var tls: TLSConfiguration?

        public init(connectTimeout: TimeAmount = .seconds(10), readTimeout: TimeAmount = .seconds(60), tls: TLSConfiguration? = nil) {
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.tls = tls
        }
    }

    public struct Request: Sendable {
        public var method: HTTPMethod
        public var url: String
        public var headers: HTTPHeaders
        public var body: ByteBuffer?

        public init(method: HTTPMethod = .GET, url: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
        }
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    private let pool = ConnectionPool()
    /// Made at once from `configuration.tls`, or on the first https:// request from the system's defaults.
    private let tlsContext: Mutex<NIOSSLContext?>

    /// - Throws: NIOSSL's error when `configuration.tls` cannot be turned into a TLS context.
    public init(configuration: Configuration = Configuration()) throws {
        self.configuration = configuration
        tlsContext = Mutex(try configuration.tls.map { try NIOSSLContext(configuration: $0) })
    }

    /// Sends `request` and returns once the response's head has arrived; its body streams.
    public func execute(_ request: Request, deadline: NIODeadline) async throws -> Response {
        let cancellation = Cancellation()
        return try await withTaskCancellationHandler {
            try await run(request, deadline: deadline, cancellation: cancellation) { .stream($0) }.get()
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// Sends `request` and completes with the whole response, whose body may hold at most `maxBodyBytes`.
    /// For callers that block a thread of their own on `wait()`: the work runs on NIO's event loops.
    public func executeCollected(_ request: Request, deadline: NIODeadline, maxBodyBytes: Int) -> EventLoopFuture<CollectedResponse> {
        run(request, deadline: deadline, cancellation: nil) { .collect(limit: maxBodyBytes, $0) }
    }

    /// Closes every idle connection. Exchanges still running end as they would have.
    public func shutdown() async throws {
        for channel in pool.shutdown() { try? await channel.close() }
    }

    // MARK: Exchanges

    private func run<Result: Sendable>(_ request: Request, deadline: NIODeadline, cancellation: Cancellation?,
                                       sink: @escaping @Sendable (EventLoopPromise<Result>) -> ExchangeHandler.Sink) -> EventLoopFuture<Result> {
        let loop = group.any()
        let target: RequestTarget
        do {
            target = try RequestTarget(url: request.url)
            guard !pool.isShutDown else { throw HTTPTransportError(.shutDown) }
        } catch {
            return loop.makeFailedFuture(error)
        }
        let head = Self.head(of: request, target: target)
        let send: @Sendable (Connection) -> EventLoopFuture<Result> = { [pool] connection in
            connection.channel.eventLoop.flatSubmit {
                let promise = connection.channel.eventLoop.makePromise(of: Result.self)
                let handler = connection.handler.value
                handler.begin(head: head, body: request.body, sink: sink(promise), deadline: deadline) { reusable in
                    pool.release(connection, reusable: reusable)
                }
                cancellation?.attach(connection, exchange: handler.exchanges)
                return promise.futureResult
            }
        }
        if let pooled = pool.take(target.key) { return send(pooled) }
        return connect(target).flatMap(send)
    }

    static func head(of request: Request, target: RequestTarget) -> HTTPRequestHead {
        var headers = request.headers
        if !headers.contains(name: "Host") { headers.add(name: "Host", value: target.hostHeader) }
        if request.body != nil || request.method == .PUT || request.method == .POST {
            headers.replaceOrAdd(name: "Content-Length", value: String(request.body?.readableBytes ?? 0))
        }
        return HTTPRequestHead(version: .http1_1, method: request.method, uri: target.pathAndQuery, headers: headers)
    }

    private func connect(_ target: RequestTarget) -> EventLoopFuture<Connection> {
        let loop = group.next()
        let tls: NIOSSLContext?
        do {
            tls = target.isTLS ? try tlsContext.withLock { context in
                if let context { return context }
                context = try NIOSSLContext(configuration: configuration.tls ?? .makeClientConfiguration())
                return context!
            } : nil
        } catch {
            return loop.makeFailedFuture(error)
        }
        let serverName = target.isIPAddress ? nil : target.host
        let readTimeout = configuration.readTimeout
        return ClientBootstrap(group: loop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(ExchangeHandler(readTimeout: readTimeout))
                }
            }
            .connect(host: target.host, port: target.port)
            .flatMapErrorThrowing { error in
                if case ChannelError.connectTimeout = error {
                    throw HTTPTransportError(.connectTimeout, "no connection to \(target.hostHeader) within \(readableSeconds(self.configuration.connectTimeout))")
                }
                throw error
            }
            .flatMapThrowing { channel in
                Connection(channel: channel, handler: try channel.pipeline.syncOperations.handler(type: ExchangeHandler.self), key: target.key)
            }
    }
}

private func readableSeconds(_ amount: TimeAmount) -> String {
    "\(amount.nanoseconds / 1_000_000_000) s"
}

/// Ends the exchange of a cancelled task: its connection is abandoned (closed) as soon as it is known.
final class Cancellation: Sendable {
    private let state = Mutex<(cancelled: Bool, exchange: (Connection, Int)?)>((false, nil))

    /// Called on the connection's event loop once exchange number `exchange` has begun on it.
    func attach(_ connection: Connection, exchange: Int) {
        let cancelled = state.withLock { state in
            state.exchange = (connection, exchange)
            return state.cancelled
        }
        if cancelled { Self.abandon(connection, exchange: exchange) }
    }

    func cancel() {
        let exchange = state.withLock { state in
            state.cancelled = true
            return state.exchange
        }
        if let (connection, number) = exchange { Self.abandon(connection, exchange: number) }
    }

    private static func abandon(_ connection: Connection, exchange: Int) {
        connection.channel.eventLoop.execute { connection.handler.value.abandon(CancellationError(), exchange: exchange) }
    }
}
