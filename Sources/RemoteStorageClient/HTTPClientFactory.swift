import HTTPTransport
import NIOCore
import NIOSSL

/// Builds the one `HTTPTransport` a run uses, from an endpoint's TLS and timeout settings.
/// Redirects are never followed (HTTPTransport follows none): a redirect to another host would
/// carry the credentials along.
enum HTTPClientFactory {
    static func make(for endpoint: EndpointConfiguration) throws -> HTTPTransport {
        var configuration = HTTPTransport.Configuration(connectTimeout: .milliseconds(Int64(endpoint.connectTimeoutSeconds * 1000)),
                                                        readTimeout: .milliseconds(Int64(endpoint.readTimeoutSeconds * 1000)))
        if endpoint.url.lowercased().hasPrefix("https://") || endpoint.tls.caFile != nil || endpoint.tls.certificateFile != nil {
            configuration.tls = try tlsConfiguration(endpoint.tls)
        }
        do {
            return try HTTPTransport(configuration: configuration)
        } catch {
            throw RemoteStorageError(.transport, "cannot use the TLS files (\(endpoint.tls.caFile ?? "") \(endpoint.tls.certificateFile ?? "") "
                + "\(endpoint.tls.keyFile ?? "")): \(error); check that the key belongs to the certificate", cause: error)
        }
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
