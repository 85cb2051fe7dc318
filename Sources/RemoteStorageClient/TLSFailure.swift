import NIOSSL
import FoundationEssentials

/// Turns a refused TLS handshake into an error that names the likely mistake and is never retried.
///
/// BoringSSL reports why a handshake failed as a list of library errors; the reason is the last
/// field of each one's text (`…:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER`). Those names are
/// OpenSSL's stable reason codes, so matching them here is matching an identifier, not prose.
enum TLSFailure {
    static func classify(_ error: any Error, url: String) -> RemoteStorageError? {
        guard case NIOSSLError.handshakeFailed(let failure) = error else { return nil }
        let reasons: [String]
        switch failure {
        case .sslError(let stack), .unknownError(let stack):
            reasons = stack.map { reason(in: "\($0)") }
        default:
            return nil
        }
        if reasons.contains("WRONG_VERSION_NUMBER") || reasons.contains("HTTP_REQUEST") {
            return RemoteStorageError(.tls, "\(url): the server answered in plain HTTP, not TLS; use http:// instead of https://")
        }
        if reasons.contains("CERTIFICATE_VERIFY_FAILED") {
            return RemoteStorageError(.tls, "\(url): the server's TLS certificate is not trusted (CERTIFICATE_VERIFY_FAILED); "
                + "give its CA with --ca-file, or --insecure-skip-verify for a test server")
        }
        let named = reasons.isEmpty ? "\(failure)" : reasons.joined(separator: ", ")
        return RemoteStorageError(.tls, "\(url): the TLS handshake failed (\(named)); check the URL's scheme and port, "
            + "--ca-file and --client-cert")
    }

    /// `WRONG_VERSION_NUMBER` from `Error: 268435703 error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER at …`.
    static func reason(in text: String) -> String {
        let beforeLocation = text.firstRange(of: " at ").map { String(text[..<$0.lowerBound]) } ?? text
        return beforeLocation.split(separator: ":").last.map(String.init) ?? beforeLocation
    }
}
