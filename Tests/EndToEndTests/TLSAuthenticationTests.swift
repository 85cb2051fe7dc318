import Foundation
import PeerHarness
import PrometheusWire
import Testing

/// A real Prometheus serving TLS (certificates made by the test) with basic-auth users.
@Suite(.serialized) struct TLSAuthenticationTests {
    static let password = "promferry-tls-test-password"
    /// bcrypt of `password`, as Prometheus' web config wants it (a test-only credential).
    static let passwordHash = "$2b$10$LddLpwaWVbL5xhfR2FnMn.KeoqyUZJ1dTucZzYdJAxQBQrScZ0NOS"

    static func webConfig(_ certificates: TestCertificates, requireClientCertificate: Bool) -> String {
        let clientPolicy = requireClientCertificate
            ? "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: \(certificates.caFile)\n" : ""
        return """
        tls_server_config:
          cert_file: \(certificates.serverCertificate)
          key_file: \(certificates.serverKey)
        \(clientPolicy)basic_auth_users:
          promferry: \(passwordHash)
        """
    }

    func export(_ url: String, _ archive: String, _ seeded: SeededHistory, _ extra: [String]) async throws -> Executables.Outcome {
        try await Executables.run("prom-export", ["--source-url", url, "-o", archive, "--start", "\(seeded.startMs)", "--end", "\(seeded.endMs)",
                                            "--quiet", "--max-attempts", "1", "--drop-label", "cluster", "--connect-timeout", "3s"] + extra)
    }

    func expectFailure(_ outcome: Executables.Outcome, _ fragment: String) {
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.split(separator: "\n").count == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.lowercased().contains(fragment.lowercased()), "\(outcome.stderr)")
    }

    @Test func exportsOverTLSWithBasicAuthAndFailsClearlyWithout() async throws {
        let seeded = try SeededHistory(series: 20, hours: 2)
        defer { seeded.directory.remove() }
        let certificates = try TestCertificates(in: seeded.directory.path)
        let passwordFile = seeded.directory.path + "/password"
        try Self.password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let auth = ["--basic-auth-user", "promferry", "--basic-auth-password-file", passwordFile]
        try await PrometheusServer.with(openMetricsFile: seeded.openMetrics,
                                        options: .init(webConfig: Self.webConfig(certificates, requireClientCertificate: false))) { server in
            let url = "https://127.0.0.1:\(server.port)/api/v1/read"
            let ok = try await export(url, seeded.directory.path + "/ok", seeded, ["--ca-file", certificates.caFile] + auth)
            #expect(ok.status == 0, "\(ok.stderr)")
            var expected = seeded.expected
            expected[seeded.stale.labels] = nil  // not seeded here: this server has no remote-write data
            #expect(SeriesComparison.differences(expected: expected, actual: try SeriesComparison.archiveContents(seeded.directory.path + "/ok")).isEmpty)

            expectFailure(try await export(url, seeded.directory.path + "/no-ca", seeded, auth), "certificate")
            expectFailure(try await export(url, seeded.directory.path + "/no-auth", seeded, ["--ca-file", certificates.caFile]),
                          "HTTP 401")
            let insecure = try await export(url, seeded.directory.path + "/insecure", seeded, ["--insecure-skip-verify"] + auth)
            #expect(insecure.status == 0, "\(insecure.stderr)")
        }
    }

    @Test func aClientCertificateWorksWhereTheServerRequiresOne() async throws {
        let seeded = try SeededHistory(series: 10, hours: 1)
        defer { seeded.directory.remove() }
        let certificates = try TestCertificates(in: seeded.directory.path)
        let passwordFile = seeded.directory.path + "/password"
        try Self.password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let base = ["--ca-file", certificates.caFile, "--basic-auth-user", "promferry", "--basic-auth-password-file", passwordFile]
        try await PrometheusServer.with(openMetricsFile: seeded.openMetrics,
                                        options: .init(webConfig: Self.webConfig(certificates, requireClientCertificate: true))) { server in
            let url = "https://127.0.0.1:\(server.port)/api/v1/read"
            let ok = try await export(url, seeded.directory.path + "/ok", seeded,
                                base + ["--client-cert", certificates.clientCertificate, "--client-key", certificates.clientKey])
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(try SeriesComparison.sampleCount(SeriesComparison.archiveContents(seeded.directory.path + "/ok"))
                    == seeded.history.sampleCount)
            let refused = try await export(url, seeded.directory.path + "/no-cert", seeded, base)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        }
    }
}
