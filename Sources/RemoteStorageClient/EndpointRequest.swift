import HTTPTransport
import Logging
import NIOCore
import NIOHTTP1

extension EndpointConfiguration {
    /// A GET of `url` with this endpoint's headers, user agent and credentials.
    func getRequest(_ url: String) -> HTTPTransport.Request {
        var request = HTTPTransport.Request(url: url)
        request.method = .GET
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "User-Agent", value: RemoteReadClient.userAgent)
        if let authorizationHeader { request.headers.replaceOrAdd(name: "Authorization", value: authorizationHeader) }
        return request
    }

    /// Sends `request` within `--request-timeout`, every failure classified (`RemoteStorageError`),
    /// `timedOut` for the overall timeout; `shown` names the URL in messages.
    func execute(_ request: HTTPTransport.Request, on client: HTTPTransport, shown: String, timedOut: @autoclosure () -> RemoteStorageError,
                 logger: Logger) async throws -> HTTPTransport.Response {
        do {
            return try await client.execute(request, deadline: .now() + .milliseconds(Int64(requestTimeoutSeconds * 1000)))
        } catch {
            throw RemoteReadClient.classify(error, url: shown, requestTimedOut: timedOut())
        }
    }
}
