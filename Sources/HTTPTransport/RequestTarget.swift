/// Where a request goes, taken apart from its URL: `http[s]://[user@]host[:port][/path][?query]`.
/// Only what HTTP/1.1 needs: the connection's scheme, host and port, and the request-target.
public struct RequestTarget: Hashable, Sendable {
    public let isTLS: Bool
    /// The host as written, without the brackets of an IPv6 literal.
    public let host: String
    public let port: Int
    /// Path and query, as sent on the request line ("/" when the URL has none).
    public let pathAndQuery: String

    public init(url: String) throws {
        let lowered = url.lowercased()
        let rest: Substring
        if lowered.hasPrefix("http://") {
            isTLS = false
            rest = url.dropFirst("http://".count)
        } else if lowered.hasPrefix("https://") {
            isTLS = true
            rest = url.dropFirst("https://".count)
        } else {
            throw HTTPTransportError(.invalidURL, "\(url) is not an http:// or https:// URL")
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var path = String(rest[authorityEnd...])
        if let fragment = path.firstIndex(of: "#") { path = String(path[..<fragment]) }
        if path.isEmpty || path.first == "?" { path = "/" + path }
        pathAndQuery = path

        let hostPart: Substring
        let portPart: Substring?
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { throw HTTPTransportError(.invalidURL, "\(url): unclosed [ in the host") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            portPart = after.first == ":" ? after.dropFirst() : nil
            if !after.isEmpty && portPart == nil { throw HTTPTransportError(.invalidURL, "\(url): text after the IPv6 host") }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        } else {
            hostPart = authority
            portPart = nil
        }
        guard !hostPart.isEmpty else { throw HTTPTransportError(.invalidURL, "\(url) has no host") }
        host = String(hostPart)
        if let portPart {
            guard let port = Int(portPart), (1...65535).contains(port) else {
                throw HTTPTransportError(.invalidURL, "\(url): the port must be a number from 1 to 65535")
            }
            self.port = port
        } else {
            port = isTLS ? 443 : 80
        }
    }

    /// The Host header: the host, bracketed if IPv6, with the port unless it is the scheme's default.
    public var hostHeader: String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return port == (isTLS ? 443 : 80) ? shown : "\(shown):\(port)"
    }

    /// Whether the host is an IP address (no SNI is sent for one).
    var isIPAddress: Bool {
        host.contains(":") || host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
    }

    /// What connections can be shared under: scheme, host and port.
    struct Key: Hashable, Sendable {
        let isTLS: Bool
        let host: String
        let port: Int
    }

    var key: Key { Key(isTLS: isTLS, host: host, port: port) }
}
