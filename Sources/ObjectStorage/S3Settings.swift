public import FoundationEssentials

/// An access key pair, with the session token of temporary credentials. `description` never shows
/// the secret or the token.
public struct S3Credentials: Sendable, CustomStringConvertible {
    public let accessKeyID: String
    public let secretAccessKey: String
    public let sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "access key \(accessKeyID)" }
}

/// Where and as whom a bucket is reached, resolved as the AWS tools do it, so that existing setups
/// work unchanged:
/// - credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), else the
///   profile `AWS_PROFILE` (default `default`) of the shared credentials file
///   (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`), else of the config file
///   (`AWS_CONFIG_FILE`, default `~/.aws/config`, section `[profile NAME]` or `[default]`);
/// - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else `us-east-1`;
/// - endpoint: `--s3-endpoint`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's
///   `endpoint_url`, else AWS (`https://s3.REGION.amazonaws.com`). A given endpoint (an S3-compatible
///   store) is addressed path-style (`ENDPOINT/BUCKET/KEY`); AWS itself virtual-hosted-style.
public struct S3Settings: Sendable {
    public let credentials: S3Credentials
    public let region: String
    /// `scheme://host[:port]`, without a trailing slash.
    public let endpoint: String
    public let pathStyle: Bool

    public init(credentials: S3Credentials, region: String, endpoint: String, pathStyle: Bool) {
        self.credentials = credentials
        self.region = region
        self.endpoint = endpoint
        self.pathStyle = pathStyle
    }

    /// The `--s3-endpoint` of this process, set once by the command line before any archive is opened.
    nonisolated(unsafe) public static var endpointOverride: String?

    /// Resolves the settings from `environment` and the files it names.
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment,
                               endpointOverride: String? = S3Settings.endpointOverride) throws -> S3Settings {
        let profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        let credentialsFile = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials"
        let configFile = environment["AWS_CONFIG_FILE"] ?? home + "/.aws/config"
        let fromCredentials = try IniFile.section(profile, in: credentialsFile)
        let fromConfig = try IniFile.section(profile == "default" ? "default" : "profile " + profile, in: configFile)
        func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }

        let credentials: S3Credentials
        if let key = nonEmpty(environment["AWS_ACCESS_KEY_ID"]), let secret = nonEmpty(environment["AWS_SECRET_ACCESS_KEY"]) {
            credentials = S3Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: nonEmpty(environment["AWS_SESSION_TOKEN"]))
        } else if let section = [fromCredentials, fromConfig].compactMap({ $0 }).first(where: { $0["aws_access_key_id"] != nil }),
                  let key = nonEmpty(section["aws_access_key_id"]), let secret = nonEmpty(section["aws_secret_access_key"]) {
            credentials = S3Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: nonEmpty(section["aws_session_token"]))
        } else {
            throw ObjectStoreError(.configuration, "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE "
                + "naming a profile of \(credentialsFile) (profile \"\(profile)\" has no aws_access_key_id there)")
        }
        let region = nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
            ?? nonEmpty(fromConfig?["region"]) ?? "us-east-1"
        let given = nonEmpty(endpointOverride) ?? nonEmpty(environment["AWS_ENDPOINT_URL_S3"]) ?? nonEmpty(environment["AWS_ENDPOINT_URL"])
            ?? nonEmpty(fromConfig?["endpoint_url"])
        guard let given else {
            return S3Settings(credentials: credentials, region: region, endpoint: "https://s3.\(region).amazonaws.com", pathStyle: false)
        }
        return S3Settings(credentials: credentials, region: region, endpoint: try endpoint(given), pathStyle: true)
    }

    /// `http(s)://host[:port]` with no path, query or credentials.
    public static func endpoint(_ text: String) throws -> String {
        var url = text
        while url.hasSuffix("/") { url.removeLast() }
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = parts.host, !host.isEmpty, parts.user == nil, parts.password == nil,
              parts.path.isEmpty, parts.query == nil, parts.fragment == nil else {
            throw ObjectStoreError(.configuration, "S3 endpoint \"\(text)\" is not an http:// or https:// URL of a host "
                + "(e.g. http://127.0.0.1:8333); give --s3-endpoint or AWS_ENDPOINT_URL as scheme://host[:port]")
        }
        return url
    }
}

/// The AWS shared configuration files: `[section]` headers and `key = value` lines; `#` and `;`
/// start comments.
enum IniFile {
    /// The keys of `section`, nil when the file or the section is missing.
    static func section(_ name: String, in path: String) throws -> [String: String]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ObjectStoreError(.configuration, "\(path) cannot be read as UTF-8 text; fix its permissions or its contents")
        }
        var current: String?
        var found: [String: String]?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = String(raw).trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingSpaces
                if current == name, found == nil { found = [:] }
                continue
            }
            guard current == name, let equals = line.firstIndex(of: "=") else { continue }
            found?[String(line[..<equals]).trimmingSpaces.lowercased()] = String(line[line.index(after: equals)...]).trimmingSpaces
        }
        return found
    }
}
