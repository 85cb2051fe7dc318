import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection's request/response exchanges, one at a time, on the channel's event loop.
///
/// Invariants:
/// - at most one exchange is in progress; a new one begins only on an idle connection;
/// - every exchange ends exactly once: its promise (or its body's source) is completed with the
///   response or with an error, and `ended` is called with whether the connection may be reused;
/// - a connection is reusable only when the response ended, both sides allow keep-alive, and the
///   consumer of a streamed body has not gone away;
/// - while a streamed body's consumer holds back, the channel is not read (back-pressure reaches TCP).
final class ExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// What the caller waits for.
    enum Sink {
        case stream(EventLoopPromise<HTTPTransport.Response>)
        case collect(limit: Int, EventLoopPromise<HTTPTransport.CollectedResponse>)
    }

    private enum State {
        case idle
        case awaitingHead(Sink)
        case streaming(HTTPTransport.Body.Producer.Source)
        case collecting(HTTPResponseHead, ByteBuffer, limit: Int, EventLoopPromise<HTTPTransport.CollectedResponse>)
        case closed
    }

    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var keepAlive = true
    /// Whether the consumer of the body asked for more (reads are held otherwise).
    private var producing = true
    private var readHeld = false
    private(set) var exchanges = 0
    private var deadlineTask: Scheduled<Void>?
    /// No byte for this long while an answer is awaited fails the exchange. Armed when the request is
    /// sent, re-armed by every read, paused while a body's consumer holds back (nothing is read then).
    private let readTimeout: TimeAmount
    private var readTimer: Scheduled<Void>?
    private var ended: ((Bool) -> Void)?

    init(readTimeout: TimeAmount) {
        self.readTimeout = readTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Sends `head` and `body` and waits for the answer into `sink`. On the event loop only.
    func begin(head: HTTPRequestHead, body: ByteBuffer?, sink: Sink, deadline: NIODeadline, ended: @escaping (Bool) -> Void) {
        guard let context, case .idle = state else {
            fail(sink, HTTPTransportError(.remoteConnectionClosed, "the connection closed before the request was sent"))
            return
        }
        exchanges += 1
        producing = true
        keepAlive = head.isKeepAlive
        self.ended = ended
        state = .awaitingHead(sink)
        deadlineTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.failExchange(HTTPTransportError(.deadlineExceeded))
        }
        armReadTimer()
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Ends exchange number `exchange` with `error` (its caller was cancelled) and closes the
    /// connection, if that exchange is still in progress; a later exchange is left alone.
    func abandon(_ error: any Error, exchange: Int) {
        switch state {
        case .idle, .closed: return
        default: if exchange == exchanges { failExchange(error) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .awaitingHead, .collecting, .streaming: armReadTimer()
        case .idle, .closed: break
        }
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .awaitingHead(let sink)):
            if head.status.code < 200 { return }  // 1xx: the real answer follows
            keepAlive = keepAlive && head.isKeepAlive
            switch sink {
            case .collect(let limit, let promise):
                state = .collecting(head, context.channel.allocator.buffer(capacity: 0), limit: limit, promise)
            case .stream(let promise):
                let loop = context.eventLoop
                let bound = NIOLoopBound(self, eventLoop: loop)
                // The calls hop to the event loop, where a later exchange may have begun: they name theirs.
                let exchange = exchanges
                let demand = BodyDemand(
                    wantsMore: { loop.execute { bound.value.resumeReading(exchange: exchange) } },
                    gone: { loop.execute { bound.value.consumerGone(exchange: exchange) } })
                let made = HTTPTransport.Body.Producer.makeSequence(
                    backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: demand)
                state = .streaming(made.source)
                promise.succeed(.init(status: head.status, headers: head.headers, body: .init(producer: made.sequence)))
            }
        case (.body(let buffer), .streaming(let source)):
            if source.yield(buffer) == .stopProducing {
                producing = false
                readTimer?.cancel()
            }
        case (.body(var buffer), .collecting(let head, var collected, let limit, let promise)):
            guard collected.readableBytes + buffer.readableBytes <= limit else {
                failExchange(HTTPTransportError(.bodyTooLarge, "more than \(limit) bytes"))
                return
            }
            state = .idle  // no copy-on-write of `collected` while it grows
            collected.writeBuffer(&buffer)
            state = .collecting(head, collected, limit: limit, promise)
        case (.end, .streaming(let source)):
            finishExchange()
            source.finish()
        case (.end, .collecting(let head, let collected, _, let promise)):
            finishExchange()
            promise.succeed(.init(status: head.status, headers: head.headers, body: collected))
        case (_, .closed), (_, .idle):
            break  // after a failure, or bytes nobody asked for: the connection is not reused
        default:
            failExchange(HTTPTransportError(.invalidResponse, "HTTP parts out of order"))
        }
    }

    func read(context: ChannelHandlerContext) {
        if case .streaming = state, !producing {
            readHeld = true
        } else {
            context.read()
        }
    }

    private func armReadTimer() {
        readTimer?.cancel()
        guard let context else { return }
        readTimer = context.eventLoop.assumeIsolated().scheduleTask(in: readTimeout) { [weak self] in
            self?.failExchange(HTTPTransportError(.readTimeout))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parser = error as? HTTPParserError, parser == .invalidEOFState {
            // The connection ended inside a response (NIO's decoder reports it before channelInactive).
            failExchange(HTTPTransportError(.remoteConnectionClosed))
        } else if error is HTTPParserError {
            failExchange(HTTPTransportError(.invalidResponse, "\(error)"))
        } else {
            failExchange(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failExchange(HTTPTransportError(.remoteConnectionClosed))
        state = .closed
        context.fireChannelInactive()
    }

    private func resumeReading(exchange: Int) {
        guard exchange == exchanges else { return }
        if case .streaming = state, !producing { armReadTimer() }
        producing = true
        if readHeld, let context {
            readHeld = false
            context.read()
        }
    }

    private func consumerGone(exchange: Int) {
        if exchange == exchanges, case .streaming = state { failExchange(HTTPTransportError(.remoteConnectionClosed, "the body was not read to its end")) }
    }

    private func stopTimers() {
        deadlineTask?.cancel()
        deadlineTask = nil
        readTimer?.cancel()
        readTimer = nil
    }

    private func finishExchange() {
        stopTimers()
        state = keepAlive ? .idle : .closed
        let ended = self.ended
        self.ended = nil
        ended?(keepAlive)
        if !keepAlive { context?.close(promise: nil) }
    }

    /// Fails the exchange in progress, if any, and closes the connection for good.
    private func failExchange(_ error: any Error) {
        stopTimers()
        let previous = state
        state = .closed
        switch previous {
        case .awaitingHead(let sink): fail(sink, error)
        case .streaming(let source): source.finish(error)
        case .collecting(_, _, _, let promise): promise.fail(error)
        case .idle, .closed: break
        }
        let ended = self.ended
        self.ended = nil
        ended?(false)
        context?.close(promise: nil)
    }

    private func fail(_ sink: Sink, _ error: any Error) {
        switch sink {
        case .stream(let promise): promise.fail(error)
        case .collect(_, let promise): promise.fail(error)
        }
    }
}
