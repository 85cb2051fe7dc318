import AsyncHTTPClient
import NIOCore
import NIOSSL

/// Builds the one `HTTPClient` a run uses, from an endpoint's TLS and timeout settings.
/// Redirects are never followed: a redirect to another host would carry the credentials along.
enum HTTPClientFactory {
    static func make(for endpoint: EndpointConfiguration) throws -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .milliseconds(Int64(endpoint.connectTimeoutSeconds * 1000)),
                                      read: .milliseconds(Int64(endpoint.readTimeoutSeconds * 1000)))
        configuration.decompression = .disabled
        if endpoint.url.lowercased().hasPrefix("https://") || endpoint.tls.caFile != nil || endpoint.tls.certificateFile != nil {
            configuration.tlsConfiguration = try tlsConfiguration(endpoint.tls)
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    static func tlsConfiguration(_ options: EndpointConfiguration.TLS) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = options.caFile {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            }
            if let certificate = options.certificateFile {
                guard let key = options.keyFile else {
                    throw RemoteStorageError(.transport, "--client-cert needs --client-key as well")
                }
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } else if options.keyFile != nil {
                throw RemoteStorageError(.transport, "--client-key needs --client-cert as well")
            }
        } catch let error as NIOSSLError {
            throw RemoteStorageError(.transport, "cannot load TLS files (\(options.caFile ?? "") \(options.certificateFile ?? "") "
                + "\(options.keyFile ?? "")): \(error); check that they exist and are PEM")
        }
        if options.insecureSkipVerify { tls.certificateVerification = .none }
        return tls
    }
}
