import FoundationEssentials

/// Where and how to reach a remote endpoint: URL, credentials, extra headers, TLS and timeouts.
///
/// Credentials are held here only; `redactedURL` is what may be shown or recorded anywhere.
public struct EndpointConfiguration: Sendable {
    public enum Authentication: Sendable {
        case none
        case basic(username: String, password: String)
        case bearer(token: String)
    }

    public struct TLS: Sendable {
        /// PEM file of the CA(s) to trust instead of the system's.
        public var caFile: String?
        /// PEM client certificate and key, for servers that require one.
        public var certificateFile: String?
        public var keyFile: String?
        /// Accept any server certificate. Explicit opt-in only.
        public var insecureSkipVerify: Bool

        public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.insecureSkipVerify = insecureSkipVerify
        }
    }

    /// The URL without user-info (credentials given in the URL move to `authentication`).
    public var url: String
    public var authentication: Authentication
    public var headers: [(name: String, value: String)]
    public var tls: TLS
    public var connectTimeoutSeconds: Double
    /// Longest wait for the next bytes of a response.
    public var readTimeoutSeconds: Double
    /// Longest time one request may take in all, response body included: a server that trickles bytes
    /// forever never trips the read timeout, but trips this.
    public var requestTimeoutSeconds: Double

    public init(url: String, authentication: Authentication = .none, headers: [(name: String, value: String)] = [],
                tls: TLS = TLS(), connectTimeoutSeconds: Double = 10, readTimeoutSeconds: Double = 120,
                requestTimeoutSeconds: Double = 1800) {
        self.url = url
        self.authentication = authentication
        self.headers = headers
        self.tls = tls
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.readTimeoutSeconds = readTimeoutSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    /// The `Authorization` header value, if any.
    public var authorizationHeader: String? {
        switch authentication {
        case .none: nil
        case .basic(let user, let password): "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        case .bearer(let token): "Bearer \(token)"
        }
    }

    /// The URL as it may be shown, logged and stored: no user-info, no query string values.
    public var redactedURL: String { URLRedaction.redact(url) }
}

/// Removes credentials from URLs before they are shown or stored.
public enum URLRedaction {
    /// Drops `user:password@` and replaces every query parameter's value with `REDACTED`
    /// (tokens are often passed as `?token=`, InfluxDB's `?p=`).
    public static func redact(_ url: String) -> String {
        var text = url
        if let schemeEnd = text.firstRange(of: "://") {
            let afterScheme = text[schemeEnd.upperBound...]
            let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
            if let at = afterScheme[..<authorityEnd].lastIndex(of: "@") {
                text.removeSubrange(schemeEnd.upperBound...at)
            }
        }
        guard let question = text.firstIndex(of: "?") else { return text }
        let base = text[..<question]
        let query = text[text.index(after: question)...]
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
            guard let equals = part.firstIndex(of: "=") else { return String(part) }
            return String(part[..<equals]) + "=REDACTED"
        }
        return String(base) + "?" + parts.joined(separator: "&")
    }
}
