import FoundationEssentials
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// A TCP connect to the endpoint's host and port before anything else, and for `https://` a TLS
/// handshake with the run's own TLS settings.
///
/// The HTTP client's pool keeps retrying a refused connection, or a refused handshake, until the
/// connect timeout passes; this check turns the commonest first-run mistakes (wrong port, server
/// down, `https://` to a plain-http port, an untrusted certificate) into an immediate, clear error.
enum Reachability {
    static func check(_ endpoint: EndpointConfiguration) async throws {
        guard let (host, port) = endpoint.hostAndPort else {
            throw RemoteStorageError(.transport, "\(endpoint.redactedURL) has no host")
        }
        let tls = try endpoint.isHTTPS ? NIOSSLContext(configuration: HTTPClientFactory.tlsConfiguration(endpoint.tls)) : nil
        let timeout = TimeAmount.milliseconds(Int64(endpoint.connectTimeoutSeconds * 1000))
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(timeout)
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            if TransportFailure.isConnectionRefused(error) {
                throw RemoteStorageError(.transport, "\(endpoint.redactedURL): connection refused; is the server running and is the port right?",
                                         cause: error)
            }
            if error is ChannelError {
                throw RemoteStorageError(.timeout, "\(endpoint.redactedURL): no answer to a connection attempt within "
                    + "\(endpoint.connectTimeoutSeconds) s; is the host reachable?")
            }
            throw RemoteStorageError(.transport, "\(endpoint.redactedURL): cannot connect to \(host):\(port): \(error)", cause: error)
        }
        defer { channel.close(promise: nil) }
        guard let tls else { return }
        do {
            try await handshake(on: channel, context: tls, host: host, timeout: timeout)
        } catch {
            throw TLSFailure.classify(error, url: endpoint.redactedURL)
                ?? RemoteStorageError(.transport, "\(endpoint.redactedURL): the TLS handshake did not finish: \(error)")
        }
    }

    /// Completes when the handshake has, fails with the handshake's error, or with a timeout.
    private static func handshake(on channel: any Channel, context: NIOSSLContext, host: String, timeout: TimeAmount) async throws {
        let done = channel.eventLoop.makePromise(of: Void.self)
        // Certificates name hosts; an address literal is checked against the certificate's IP entries.
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        try await channel.eventLoop.submit {
            let handler = try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host)
            try channel.pipeline.syncOperations.addHandlers([handler, HandshakeWatcher(done: done)])
        }.get()
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            done.fail(RemoteStorageError(.timeout, "no TLS handshake within \(timeout.nanoseconds / 1_000_000_000) s"))
        }
        defer { deadline.cancel() }
        try await done.futureResult.get()
    }
}

/// Reports the end of a TLS handshake through a promise.
private final class HandshakeWatcher: ChannelInboundHandler {
    typealias InboundIn = Any
    let done: EventLoopPromise<Void>

    init(done: EventLoopPromise<Void>) { self.done = done }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { done.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}

extension EndpointConfiguration {
    var isHTTPS: Bool { url.lowercased().hasPrefix("https://") }

    /// The host to connect to and the port: the scheme's default when none is given, and an IPv6
    /// literal without the brackets a URL writes it in (`http://[::1]:9090` connects to `::1`).
    var hostAndPort: (host: String, port: Int)? {
        guard let components = URLComponents(string: url), var host = components.host, !host.isEmpty else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, components.port ?? (isHTTPS ? 443 : 80))
    }
}

extension RemoteReadClient {
    /// Checks that the source accepts TCP connections (and TLS, for https); throws a clear `RemoteStorageError` when not.
    public func checkReachable() async throws {
        try await Reachability.check(endpoint)
    }
}
