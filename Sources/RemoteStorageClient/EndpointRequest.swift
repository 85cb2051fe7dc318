import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

extension EndpointConfiguration {
    /// A GET of `url` with this endpoint's headers, user agent and credentials.
    func getRequest(_ url: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "User-Agent", value: RemoteReadClient.userAgent)
        if let authorizationHeader { request.headers.replaceOrAdd(name: "Authorization", value: authorizationHeader) }
        return request
    }

    /// Sends `request` within `--request-timeout`, every failure classified (`RemoteStorageError`),
    /// `timedOut` for the overall timeout; `shown` names the URL in messages.
    func execute(_ request: HTTPClientRequest, on client: HTTPClient, shown: String, timedOut: @autoclosure () -> RemoteStorageError,
                 logger: Logger) async throws -> HTTPClientResponse {
        do {
            return try await client.execute(request, timeout: .milliseconds(Int64(requestTimeoutSeconds * 1000)), logger: logger)
        } catch {
            throw RemoteReadClient.classify(error, url: shown, requestTimedOut: timedOut())
        }
    }
}
