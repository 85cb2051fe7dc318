import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What the scripted server does with one request.
public enum ScriptedReply: Sendable {
    /// A complete answer.
    case respond(status: Int, headers: [(String, String)], body: [UInt8])
    /// Headers, then `body` cut after `bytes` bytes, then the connection is closed (a broken stream).
    case truncate(status: Int, headers: [(String, String)], body: [UInt8], afterBytes: Int)
    /// Close the connection without answering (a reset).
    case close
    /// Headers, then the body one byte every `intervalMs`, without end while `body` lasts (a trickle).
    case trickle(status: Int, headers: [(String, String)], body: [UInt8], intervalMs: Int)
    /// Wait, then do `then`.
    indirect case delay(milliseconds: Int, then: ScriptedReply)
    /// Send the request on to `baseURL` (same method, URI, headers, Host included, and body) and answer
    /// with its reply; with `cutAfter`, only that many bytes of the reply's body, then the connection
    /// is closed (a download reset mid-way). Makes the server a fault-injecting proxy.
    case forward(baseURL: String, cutAfter: Int?)
}

/// A request as the server received it.
public struct RecordedRequest: Sendable {
    public let method: String
    public let uri: String
    public let headers: [(String, String)]
    public let body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// A small HTTP/1.1 server on 127.0.0.1 and a free port whose every answer is chosen by a script:
/// used by fault tests to answer 429/5xx, delay, reset and truncate.
public final class ScriptedHTTPServer: Sendable {
    public let port: Int
    private let channel: any Channel
    private let log: RequestLog

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// TCP connections accepted so far (a client that keeps its connections alive opens few).
    public var connectionsAccepted: Int { log.connections.withLock { $0 } }

    public init(script: @escaping @Sendable (RecordedRequest, Int) -> ScriptedReply) async throws {
        let box = RequestLog()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                box.connections.withLock { $0 += 1 }
                return channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(ScriptedHandler(script: script, log: box))
                }
            }
        channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
        self.log = box
    }

    /// Requests received so far, in order.
    public var received: [RecordedRequest] { log.all }

    public func shutdown() async throws {
        try await channel.close()
    }
}

final class RequestLog: Sendable {
    private let requests = Mutex<[RecordedRequest]>([])
    let connections = Mutex(0)
    var all: [RecordedRequest] { requests.withLock { $0 } }
    func append(_ request: RecordedRequest) -> Int {
        requests.withLock { $0.append(request); return $0.count - 1 }
    }
}

final class ScriptedHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let script: @Sendable (RecordedRequest, Int) -> ScriptedReply
    let log: RequestLog
    var head: HTTPRequestHead?
    var body: [UInt8] = []

    init(script: @escaping @Sendable (RecordedRequest, Int) -> ScriptedReply, log: RequestLog) {
        self.script = script
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h; body = []
        case .body(var buffer): body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            let request = RecordedRequest(method: "\(head.method)", uri: head.uri,
                                          headers: head.headers.map { ($0.name, $0.value) }, body: body)
            let index = log.append(request)
            perform(script(request, index), context: context)
        }
    }

    func perform(_ reply: ScriptedReply, context: ChannelHandlerContext) {
        switch reply {
        case .close:
            context.close(promise: nil)
        case .delay(let ms, let then):
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(Int64(ms))) {
                let (handler, ctx) = loopBound.value
                handler.perform(then, context: ctx)
            }
        case .respond(let status, let headers, let body):
            write(status: status, headers: headers, body: body, contentLength: body.count, context: context)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case .trickle(let status, let headers, let body, let interval):
            write(status: status, headers: headers, body: [], contentLength: nil, context: context)
            context.flush()
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            var sent = 0
            context.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(Int64(interval)), delay: .milliseconds(Int64(interval))) { task in
                let (handler, ctx) = loopBound.value
                guard sent < body.count, ctx.channel.isActive else {
                    task.cancel()
                    return
                }
                ctx.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: [body[sent]])))), promise: nil)
                sent += 1
            }
        case .forward(let baseURL, let cutAfter):
            forward(to: baseURL, cutAfter: cutAfter, context: context)
        case .truncate(let status, let headers, let body, let bytes):
            write(status: status, headers: headers, body: Array(body.prefix(bytes)), contentLength: nil, context: context)
            context.flush()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(20)) { loopBound.value.close(promise: nil) }
        }
    }

    func forward(to baseURL: String, cutAfter: Int?, context: ChannelHandlerContext) {
        guard let head, var request = try? HTTPClient.Request(url: baseURL + head.uri, method: head.method) else {
            context.close(promise: nil)
            return
        }
        for (name, value) in head.headers where !["content-length", "connection", "transfer-encoding"].contains(name.lowercased()) {
            request.headers.add(name: name, value: value)
        }
        if !body.isEmpty || head.method == .PUT || head.method == .POST { request.body = .bytes(body) }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        HTTPClient.shared.execute(request: request).hop(to: context.eventLoop).whenComplete { result in
            let (handler, ctx) = loopBound.value
            guard case .success(let response) = result else {
                ctx.close(promise: nil)
                return
            }
            var bytes: [UInt8] = []
            if var buffer = response.body { bytes = buffer.readBytes(length: buffer.readableBytes) ?? [] }
            let headers = response.headers.filter { !["content-length", "transfer-encoding", "connection"].contains($0.name.lowercased()) }
                .map { ($0.name, $0.value) }
            if head.method == .HEAD {
                // No body, and the length the upstream announced for its GET.
                let length = response.headers.first(name: "content-length").map { [("Content-Length", $0)] } ?? []
                handler.write(status: Int(response.status.code), headers: headers + length, body: [], contentLength: nil, context: ctx, announced: true)
                ctx.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            if let cutAfter, cutAfter < bytes.count {
                // The full length announced, part of the body sent, then the connection closed.
                handler.write(status: Int(response.status.code), headers: headers + [("Content-Length", String(bytes.count))],
                              body: Array(bytes.prefix(cutAfter)), contentLength: nil, context: ctx, announced: true)
                ctx.flush()
                ctx.eventLoop.scheduleTask(in: .milliseconds(20)) { loopBound.value.1.close(promise: nil) }
                return
            }
            handler.write(status: Int(response.status.code), headers: headers, body: bytes, contentLength: bytes.count, context: ctx)
            ctx.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    func write(status: Int, headers: [(String, String)], body: [UInt8], contentLength: Int?, context: ChannelHandlerContext,
               announced: Bool = false) {
        var httpHeaders = HTTPHeaders(headers)
        if let contentLength { httpHeaders.replaceOrAdd(name: "Content-Length", value: String(contentLength)) }
        else if !announced { httpHeaders.replaceOrAdd(name: "Transfer-Encoding", value: "chunked") }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: httpHeaders)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        }
    }
}
