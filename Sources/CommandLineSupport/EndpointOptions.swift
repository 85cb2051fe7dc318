import PrometheusWire
public import ArgumentParser
import FoundationEssentials
public import RemoteStorageClient

/// Authentication, headers, TLS and timeouts for one endpoint; shared by every tool.
///
/// Secrets are read from files or environment variables so that they never appear in `ps` output;
/// `--basic-auth-password` exists for convenience and says so in its help.
public struct EndpointOptions: ParsableArguments {
    @Option(name: .customLong("basic-auth-user"), help: "User name for HTTP basic authentication.")
    public var basicAuthUser: String?

    @Option(name: .customLong("basic-auth-password-file"), help: "File holding the basic-auth password (one line).")
    public var basicAuthPasswordFile: String?

    @Option(name: .customLong("basic-auth-password-env"), help: "Environment variable holding the basic-auth password.")
    public var basicAuthPasswordEnv: String?

    @Option(name: .customLong("basic-auth-password"),
            help: "Basic-auth password on the command line (visible in `ps`; prefer the file or env forms).")
    public var basicAuthPassword: String?

    @Option(name: .customLong("bearer-token-file"), help: "File holding a bearer token (one line).")
    public var bearerTokenFile: String?

    @Option(name: .customLong("bearer-token-env"), help: "Environment variable holding a bearer token.")
    public var bearerTokenEnv: String?

    @Option(name: .customLong("header"), help: "Extra request header, NAME=VALUE (repeatable), e.g. X-Scope-OrgID=tenant1.")
    public var headers: [String] = []

    @Option(name: .customLong("ca-file"), help: "PEM file of the CA certificates to trust for https.")
    public var caFile: String?

    @Option(name: .customLong("client-cert"), help: "PEM client certificate, for servers that require one.")
    public var clientCert: String?

    @Option(name: .customLong("client-key"), help: "PEM private key of --client-cert.")
    public var clientKey: String?

    @Flag(name: .customLong("insecure-skip-verify"), help: "Accept any server certificate (unsafe; for tests only).")
    public var insecureSkipVerify = false

    @Option(name: .customLong("connect-timeout"), help: "Connection timeout, e.g. 10s.")
    public var connectTimeout = "10s"

    @Option(name: .customLong("read-timeout"), help: "Longest wait for more bytes of a response, e.g. 2m.")
    public var readTimeout = "2m"

    @Option(name: .customLong("request-timeout"), help: "Longest time one request may take in all, e.g. 30m.")
    public var requestTimeout = "30m"

    public init() {}

    /// The authentication, header and TLS flags given, by name: a source that is not a URL refuses them.
    public var connectionOptionsGiven: [String] {
        [("--basic-auth-user", basicAuthUser != nil), ("--basic-auth-password-file", basicAuthPasswordFile != nil),
         ("--basic-auth-password-env", basicAuthPasswordEnv != nil), ("--basic-auth-password", basicAuthPassword != nil),
         ("--bearer-token-file", bearerTokenFile != nil), ("--bearer-token-env", bearerTokenEnv != nil), ("--header", !headers.isEmpty),
         ("--ca-file", caFile != nil), ("--client-cert", clientCert != nil), ("--client-key", clientKey != nil),
         ("--insecure-skip-verify", insecureSkipVerify)].filter(\.1).map(\.0)
    }

    /// Builds the endpoint for `url`, moving any user-info in the URL into basic auth.
    public func endpoint(url rawURL: String, flag: String) throws -> EndpointConfiguration {
        guard let components = URLComponents(string: rawURL), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw ValidationError("\(flag) \(URLRedaction.redact(rawURL)) is not an http(s) URL; use e.g. http://127.0.0.1:9090/api/v1/read")
        }
        // A URL for the other direction is the likeliest slip of all; the server's answer to it misleads.
        if flag == "--target-url", components.path.hasSuffix("/read") {
            throw ValidationError("\(flag) \(URLRedaction.redact(rawURL)) is a remote-read URL; the target takes remote write, "
                + "e.g. http://127.0.0.1:9090/api/v1/write")
        }
        if flag == "--source-url", components.path.hasSuffix("/write") || components.path.hasSuffix("/push") {
            throw ValidationError("\(flag) \(URLRedaction.redact(rawURL)) is a remote-write URL; the source is read through "
                + "remote read, e.g. http://127.0.0.1:9090/api/v1/read")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw ValidationError("\(flag) \(URLRedaction.redact(rawURL)): port \(port) is outside 1-65535")
        }
        var stripped = components
        stripped.user = nil
        stripped.password = nil
        guard let url = stripped.string else { throw ValidationError("\(flag): cannot rebuild the URL without credentials") }

        var authentication = EndpointConfiguration.Authentication.none
        let passwordSources = [basicAuthPasswordFile, basicAuthPasswordEnv, basicAuthPassword].compactMap { $0 }
        if passwordSources.count > 1 {
            throw ValidationError("give the basic-auth password one way only: --basic-auth-password-file, -env or --basic-auth-password")
        }
        var user = basicAuthUser
        var password: String?
        if let file = basicAuthPasswordFile { password = try Self.readSecret(file: file, flag: "--basic-auth-password-file") }
        if let variable = basicAuthPasswordEnv { password = try Self.readSecret(env: variable, flag: "--basic-auth-password-env") }
        if let given = basicAuthPassword { password = given }
        if let urlUser = components.percentEncodedUser {
            if user == nil { user = Self.percentDecoded(urlUser) }
            if password == nil { password = components.percentEncodedPassword.map(Self.percentDecoded) }
        }
        if password != nil && user == nil {
            throw ValidationError("a basic-auth password was given without --basic-auth-user")
        }
        if let user { authentication = .basic(username: user, password: password ?? "") }
        if bearerTokenFile != nil || bearerTokenEnv != nil {
            if case .basic = authentication {
                throw ValidationError("use either basic auth or a bearer token, not both")
            }
            if bearerTokenFile != nil && bearerTokenEnv != nil {
                throw ValidationError("give the bearer token one way only: --bearer-token-file or --bearer-token-env")
            }
            let token = try bearerTokenFile.map { try Self.readSecret(file: $0, flag: "--bearer-token-file") }
                ?? Self.readSecret(env: bearerTokenEnv!, flag: "--bearer-token-env")
            authentication = .bearer(token: token)
        }

        var parsedHeaders: [(name: String, value: String)] = []
        for header in headers {
            guard let equals = header.firstIndex(of: "="), equals != header.startIndex else {
                throw ValidationError("--header \(header): expected NAME=VALUE, e.g. X-Scope-OrgID=tenant1")
            }
            let name = String(header[..<equals]).trimmedOfSpaces()
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw ValidationError("--header \(header): \"\(name)\" is not a valid header name")
            }
            let value = String(header[header.index(after: equals)...])
            // A line break would end the header early and let the rest pass as another header or a body.
            guard !value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
                throw ValidationError("--header \(name): the value holds a line break (CR or LF), which no HTTP header may carry")
            }
            parsedHeaders.append((name, value))
        }
        for path in [caFile, clientCert, clientKey].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("cannot read \(path); check the TLS file paths")
        }
        if (clientCert == nil) != (clientKey == nil) {
            throw ValidationError("--client-cert and --client-key go together")
        }
        let connect: Int64
        let read: Int64
        let total: Int64
        do {
            connect = try DurationExpression.parse(connectTimeout)
            read = try DurationExpression.parse(readTimeout)
            total = try DurationExpression.parse(requestTimeout)
        } catch let error as TimeExpression.ParseError {
            throw ValidationError("timeout: \(error.description)")
        }
        guard connect > 0, read > 0, total > 0 else { throw ValidationError("timeouts must be positive") }
        return EndpointConfiguration(
            url: url, authentication: authentication, headers: parsedHeaders,
            tls: .init(caFile: caFile, certificateFile: clientCert, keyFile: clientKey, insecureSkipVerify: insecureSkipVerify),
            connectTimeoutSeconds: Double(connect) / 1000, readTimeoutSeconds: Double(read) / 1000,
            requestTimeoutSeconds: Double(total) / 1000)
    }

    /// `%XX` escapes of a URL's user or password decoded; text that is not a valid escape stays as written.
    static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "%"), input.count >= 2,
               let value = UInt8(String(decoding: input.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                input = input.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func readSecret(file: String, flag: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("\(flag) \(file): cannot read the file")
        }
        let text = String(decoding: data, as: UTF8.self).trimmed(\.isNewline)
        guard !text.isEmpty else { throw ValidationError("\(flag) \(file): the file is empty") }
        return text
    }

    static func readSecret(env variable: String, flag: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
            throw ValidationError("\(flag) \(variable): that environment variable is not set or empty")
        }
        return value
    }
}
