import Foundation

/// A throw-away certificate authority with a server certificate for 127.0.0.1 and a client certificate,
/// made with the `openssl` command for TLS tests.
public struct TestCertificates: Sendable {
    public let directory: String
    public var caFile: String { directory + "/ca.crt" }
    public var serverCertificate: String { directory + "/server.crt" }
    public var serverKey: String { directory + "/server.key" }
    public var clientCertificate: String { directory + "/client.crt" }
    public var clientKey: String { directory + "/client.key" }

    public init(in directory: String) throws {
        self.directory = directory
        let openssl = try PeerBinary.find("openssl")
        let run = { (arguments: [String]) in try Command.run(openssl, arguments) }
        try run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=promferry test CA",
                 "-keyout", directory + "/ca.key", "-out", caFile])
        for (name, extensions) in [("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                                   ("client", "extendedKeyUsage=clientAuth")] {
            try extensions.write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
            try run(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=promferry test \(name)",
                     "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr"])
            try run(["x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", caFile, "-CAkey", directory + "/ca.key",
                     "-CAcreateserial", "-days", "2", "-extfile", "\(directory)/\(name).ext", "-out", "\(directory)/\(name).crt"])
        }
    }
}
