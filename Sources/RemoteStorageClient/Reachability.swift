import Foundation
import NIOCore
import NIOPosix

/// A TCP connect to the endpoint's host and port before anything else.
///
/// The HTTP client's pool keeps retrying a refused connection until the connect timeout passes; this
/// check turns the most common first-run mistake (wrong port, server down) into an immediate, clear error.
enum Reachability {
    static func check(_ endpoint: EndpointConfiguration) async throws {
        guard let components = URLComponents(string: endpoint.url), let host = components.host else {
            throw RemoteStorageError(.transport, "\(endpoint.redactedURL) has no host")
        }
        let port = components.port ?? (components.scheme?.lowercased() == "https" ? 443 : 80)
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(Int64(endpoint.connectTimeoutSeconds * 1000)))
        do {
            let channel = try await bootstrap.connect(host: host, port: port).get()
            try? await channel.close()
        } catch {
            let text = "\(error)"
            if text.contains("refused") || text.contains("errno: 111") {
                throw RemoteStorageError(.transport, "\(endpoint.redactedURL): connection refused; is the server running and is the port right?")
            }
            if error is ChannelError {
                throw RemoteStorageError(.timeout, "\(endpoint.redactedURL): no answer to a connection attempt within "
                    + "\(endpoint.connectTimeoutSeconds) s; is the host reachable?")
            }
            throw RemoteStorageError(.transport, "\(endpoint.redactedURL): cannot connect to \(host):\(port): \(text)")
        }
    }
}

extension RemoteReadClient {
    /// Checks that the source accepts TCP connections; throws a clear `RemoteStorageError` when not.
    public func checkReachable() async throws {
        try await Reachability.check(endpoint)
    }
}
