import HTTPTransport
import NIOCore
import NIOHTTP1
import Testing
import TestSupport

/// The hand-written HTTP/1.1 client against a scripted server on loopback: connections kept alive and
/// reused, never reused after a body left unread, the three time limits, body limits, cut replies and
/// cancellation.
@Suite struct HTTPTransportTests {
    static func reply(_ text: String) -> ScriptedReply {
        .respond(status: 200, headers: [("Content-Type", "text/plain")], body: Array(text.utf8))
    }

    func text(_ response: HTTPTransport.Response) async throws -> String {
        String(buffer: try await response.body.collect(upTo: 1 << 20))
    }

    @Test func sequentialRequestsShareOneConnection() async throws {
        let server = try await ScriptedHTTPServer { request, index in Self.reply("answer \(index) to \(request.method) \(request.uri)") }
        let transport = try HTTPTransport()
        for index in 0..<20 {
            var request = HTTPTransport.Request(method: .POST, url: server.baseURL + "/api/v1/write?x=\(index)")
            request.body = ByteBuffer(string: "body \(index)")
            let response = try await transport.execute(request, deadline: .now() + .seconds(10))
            #expect(response.status == .ok)
            #expect(try await text(response) == "answer \(index) to POST /api/v1/write?x=\(index)")
        }
        #expect(server.connectionsAccepted == 1)
        let received = server.received
        #expect(received.count == 20 && String(decoding: received[7].body, as: UTF8.self) == "body 7")
        #expect(received[0].header("Host") == "127.0.0.1:\(server.port)" && received[0].header("Content-Length") == "6")
        try await transport.shutdown()
        try await server.shutdown()
    }

    @Test func aBodyLeftUnreadIsNotReadByTheNextRequest() async throws {
        let big = String(repeating: "x", count: 4 << 20)
        let server = try await ScriptedHTTPServer { _, index in index == 0 ? Self.reply(big) : Self.reply("second") }
        let transport = try HTTPTransport()
        var first: HTTPTransport.Response? = try await transport.execute(.init(url: server.baseURL + "/big"), deadline: .now() + .seconds(10))
        #expect(first?.status == .ok)
        first = nil  // dropped unread: its connection must not carry the next exchange
        _ = first
        let second = try await transport.execute(.init(url: server.baseURL + "/small"), deadline: .now() + .seconds(10))
        #expect(try await text(second) == "second")
        #expect(server.connectionsAccepted == 2)
        try await transport.shutdown()
        try await server.shutdown()
    }

    @Test func concurrentRequestsOpenOneConnectionEach() async throws {
        let server = try await ScriptedHTTPServer { _, index in .delay(milliseconds: 50, then: Self.reply("\(index)")) }
        let transport = try HTTPTransport()
        for _ in 0..<3 {
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await text(try await transport.execute(.init(url: server.baseURL), deadline: .now() + .seconds(10))) }
                }
                var answers = Set<String>()
                for try await answer in group { answers.insert(answer) }
                #expect(answers.count == 4)
            }
        }
        // Four at once need four connections; the later rounds reuse them.
        #expect(server.connectionsAccepted == 4)
        try await transport.shutdown()
        try await server.shutdown()
    }

    @Test func theDeadlineCoversTheBody() async throws {
        // A byte a second for 300 s: only the 300 ms deadline can end the read with deadlineExceeded (the whole
        // suite's load can delay this task, but not turn the body's end into that error).
        let server = try await ScriptedHTTPServer { _, _ in
            .trickle(status: 200, headers: [("Content-Length", "300")], body: Array(repeating: 0x41, count: 300), intervalMs: 1000)
        }
        let transport = try HTTPTransport()
        let response = try await transport.execute(.init(url: server.baseURL), deadline: .now() + .milliseconds(300))
        await #expect(throws: HTTPTransportError(.deadlineExceeded)) { _ = try await response.body.collect(upTo: 1000) }
        try await transport.shutdown()
        try await server.shutdown()
    }

    @Test func aServerThatNeverAnswersHitsTheReadTimeout() async throws {
        let server = try await ScriptedHTTPServer { _, _ in .delay(milliseconds: 600_000, then: .close) }
        let transport = try HTTPTransport(configuration: .init(readTimeout: .milliseconds(200)))
        await #expect(throws: HTTPTransportError(.readTimeout)) {
            _ = try await transport.execute(.init(url: server.baseURL), deadline: .now() + .seconds(60))
        }
        try await transport.shutdown()
        try await server.shutdown()
    }

    /// The read timeout counts from the request, not from the connection's last read: a connection that sat in
    /// the pool for 15 s, past a 10 s read timeout, carries an answer that takes 6 s. (A timer counting from
    /// the last read fired 20 s after it, in the middle of this wait.)
    @Test func aPooledConnectionGetsTheWholeReadTimeout() async throws {
        let server = try await ScriptedHTTPServer { _, index in index == 0 ? Self.reply("first") : .delay(milliseconds: 6_000, then: Self.reply("second")) }
        let transport = try HTTPTransport(configuration: .init(readTimeout: .seconds(10)))
        #expect(try await text(try await transport.execute(.init(url: server.baseURL), deadline: .now() + .seconds(60))) == "first")
        try await Task.sleep(for: .seconds(15))
        #expect(try await text(try await transport.execute(.init(url: server.baseURL), deadline: .now() + .seconds(60))) == "second")
        #expect(server.connectionsAccepted == 1)
        try await transport.shutdown()
        try await server.shutdown()
    }

    @Test func aCutBodyIsAClosedConnection() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            .truncate(status: 200, headers: [], body: Array(repeating: 0x41, count: 10_000), afterBytes: 5_000)
        }
        let transport = try HTTPTransport()
        let response = try await transport.execute(.init(url: server.baseURL), deadline: .now() + .seconds(10))
        await #expect(throws: HTTPTransportError(.remoteConnectionClosed)) { _ = try await response.body.collect(upTo: 1 << 20) }
        let closed = try await ScriptedHTTPServer { _, _ in .close }
        await #expect(throws: HTTPTransportError(.remoteConnectionClosed)) {
            _ = try await transport.execute(.init(url: closed.baseURL), deadline: .now() + .seconds(10))
        }
        try await transport.shutdown()
        try await server.shutdown()
        try await closed.shutdown()
    }

    @Test func bodiesOverTheLimitAreRefused() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.reply(String(repeating: "y", count: 100)) }
        let transport = try HTTPTransport()
        let collected = try transport.executeCollected(.init(url: server.baseURL), deadline: .now() + .seconds(10), maxBodyBytes: 100).wait()
        #expect(collected.body.readableBytes == 100)
        #expect(throws: HTTPTransportError(.bodyTooLarge)) {
            _ = try transport.executeCollected(.init(url: server.baseURL), deadline: .now() + .seconds(10), maxBodyBytes: 99).wait()
        }
        let streamed = try await transport.execute(.init(url: server.baseURL), deadline: .now() + .seconds(10))
        await #expect(throws: HTTPTransportError(.bodyTooLarge)) { _ = try await streamed.body.collect(upTo: 99) }
        try await transport.shutdown()
        try await server.shutdown()
    }

    @Test func aCancelledTaskStopsWaiting() async throws {
        // The server never answers (it closes after 600 s): only the cancellation can end the wait with CancellationError.
        let server = try await ScriptedHTTPServer { _, _ in .delay(milliseconds: 600_000, then: .close) }
        let transport = try HTTPTransport()
        let waiting = Task { try await transport.execute(.init(url: server.baseURL), deadline: .now() + .seconds(900)) }
        try await Task.sleep(for: .milliseconds(200))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
        try await transport.shutdown()
        try await server.shutdown()
    }

    @Test func aRefusedConnectionIsAnErrorOfItsOwn() async throws {
        let server = try await ScriptedHTTPServer { _, _ in .close }
        let port = server.port
        try await server.shutdown()
        let transport = try HTTPTransport()
        let error = await #expect(throws: (any Error).self) {
            _ = try await transport.execute(.init(url: "http://127.0.0.1:\(port)/"), deadline: .now() + .seconds(900))
        }
        // NIO's own connection error, not the transport's deadline or timeouts.
        #expect(!(error is HTTPTransportError), "\(String(describing: error))")
        try await transport.shutdown()
    }

    @Test func urlsAreTakenApart() throws {
        let plain = try RequestTarget(url: "http://user:secret@127.0.0.1:9090/api/v1/read?a=1#frag")
        #expect(plain.host == "127.0.0.1" && plain.port == 9090 && !plain.isTLS && plain.pathAndQuery == "/api/v1/read?a=1")
        #expect(plain.hostHeader == "127.0.0.1:9090")
        let secure = try RequestTarget(url: "HTTPS://example.org")
        #expect(secure.isTLS && secure.port == 443 && secure.pathAndQuery == "/" && secure.hostHeader == "example.org")
        let six = try RequestTarget(url: "http://[::1]:8428?x")
        #expect(six.host == "::1" && six.port == 8428 && six.pathAndQuery == "/?x" && six.hostHeader == "[::1]:8428")
        #expect(throws: HTTPTransportError(.invalidURL)) { try RequestTarget(url: "ftp://host/") }
        #expect(throws: HTTPTransportError(.invalidURL)) { try RequestTarget(url: "http://host:99999/") }
        #expect(throws: HTTPTransportError(.invalidURL)) { try RequestTarget(url: "http:///path") }
        #expect(throws: HTTPTransportError(.invalidURL)) { try RequestTarget(url: "http://[::1/") }
    }
}
