import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport

/// What the tools say about a URL that reaches the wrong kind of server, or reaches it by an address
/// form a resolver does not take. Each case goes through the real binaries, with default retries.
@Suite struct ConnectionMessageTests {
    static let t0: Int64 = 1_700_000_000_000

    static func series(_ count: Int) -> [Series] {
        (0..<count).map { i in
            Series(labels: Labels(sorting: [Label("__name__", "m"), Label("i", "\(i)")]),
                   samples: (0..<120).map { Sample(timestampMs: t0 + Int64($0) * 15_000, value: Double($0 + i)) })
        }
    }

    func expectOneLine(_ outcome: Executables.Outcome, tool: String, containing fragment: String) {
        #expect(outcome.status == 1, "exit \(outcome.status): \(outcome.stderr)")
        #expect(outcome.stderr.split(separator: "\n").count == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.hasPrefix("\(tool): error: "), "\(outcome.stderr)")
        #expect(outcome.stderr.contains(fragment), "expected “\(fragment)” in: \(outcome.stderr)")
    }

    /// `https://` to a plain-http port once cost six attempts over 81 s and ended in BoringSSL's
    /// `WRONG_VERSION_NUMBER`. The handshake is now tried once, before anything else, and named.
    @Test func httpsToAPlainHTTPServerIsNamedAtOnce() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let server = try await ScriptedHTTPServer { _, _ in .respond(status: 204, headers: [], body: []) }
        let https = "https://127.0.0.1:\(server.port)"
        let hint = "the server answered in plain HTTP, not TLS; use http:// instead of https://"

        let export = try await Executables.run("prom-export", ["--quiet", "--source-url", https + "/api/v1/read",
                                                               "-o", dir.path + "/archive", "--start", "-1h"])
        expectOneLine(export, tool: "prom-export", containing: hint)
        // One handshake, not six attempts over 81 s (a generous bound: the suite runs many servers at once).
        #expect(export.seconds < 30)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/archive"))

        try TestArchive.write(Self.series(3), at: dir.path + "/ready", startMs: Self.t0, slabMs: 3_600_000, slabs: 1)
        let importing = try await Executables.run("prom-import", ["--quiet", "-a", dir.path + "/ready", "--target-url", https + "/api/v1/write"])
        expectOneLine(importing, tool: "prom-import", containing: hint)
        #expect(importing.seconds < 30)
        try await server.shutdown()
        #expect(server.received.isEmpty)
    }

    /// An IPv6 literal in brackets was looked up as a host name, "[::1]", and failed as DNS. The
    /// IPv4-mapped form of 127.0.0.1 keeps this test on the loopback address the rules allow.
    @Test func anIPv6LiteralInBracketsConnects() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let data = Self.series(4)
        let source = FakeRemoteReadSource(series: data)
        let server = try await ScriptedHTTPServer { request, _ in source.answer(request.body) }
        let outcome = try await Executables.run("prom-export", [
            "--quiet", "--source-url", "http://[::ffff:127.0.0.1]:\(server.port)/api/v1/read", "-o", dir.path + "/archive",
            "--start", "\(Self.t0)", "--end", "\(Self.t0 + 3_600_000)"])
        try await server.shutdown()
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let contents = try SeriesComparison.archiveContents(dir.path + "/archive")
        #expect(SeriesComparison.sampleCount(contents) == data.reduce(0) { $0 + $1.samples.count })
    }
}
