import Foundation
import PeerHarness
import PrometheusWire
import Synchronization
import Testing
import TestSupport

/// Secrets given as files, environment variables or URL user-info reach the server, and nowhere else:
/// not the manifest, state or rejects files, summaries, logs (at trace level), errors, progress, nor `ps`.
@Suite struct CredentialLeakTests {
    static let passwordSecret = "pw-PLANTED-4f1c9e"
    static let urlSecret = "url-PLANTED-77d0aa"
    static let tokenSecret = "tok-PLANTED-e3b8c1"
    static let secrets = [passwordSecret, urlSecret, tokenSecret]

    func expectNoSecret(in text: String, _ where_: String) {
        for secret in Self.secrets { #expect(!text.contains(secret), "\(secret) leaked into \(where_)") }
    }

    func expectNoSecret(inFilesUnder directory: String) throws {
        for name in try FileManager.default.subpathsOfDirectory(atPath: directory) {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
            expectNoSecret(in: String(decoding: data, as: UTF8.self), name)
        }
    }

    @Test func secretsReachTheServerAndNothingElse() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let source = FakeRemoteReadSource(series: (0..<5).map { i in
            Series(labels: Labels(sorting: [Label("__name__", "m"), Label("i", "\(i)")]),
                   samples: (0..<100).map { Sample(timestampMs: 1_700_000_000_000 + Int64($0) * 15_000, value: Double($0)) })
        })
        let authorizations = Mutex<[String]>([])
        let server = try await ScriptedHTTPServer { request, index in
            authorizations.withLock { $0.append(request.header("Authorization") ?? "") }
            guard request.method == "POST" else { return .respond(status: 404, headers: [], body: []) }
            // The first read fails with a 503 (so retry messages are printed), the rest are slow (so `ps` can look).
            return index <= 1 ? .respond(status: 503, headers: [], body: Array("busy".utf8))
                : .delay(milliseconds: 300, then: source.answer(request.body))
        }
        let passwordFile = dir.path + "/password"
        try Self.passwordSecret.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let range = ["--start", "1700000000000", "--end", "1700001800000", "--slab", "10m", "--log-level", "trace"]

        // 1. Password from a file.
        let fileArchive = dir.path + "/file-archive"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Executables.path("prom-export"))
        process.arguments = ["--source-url", server.baseURL + "/api/v1/read", "-o", fileArchive, "--basic-auth-user", "admin",
                             "--basic-auth-password-file", passwordFile, "--summary-json", dir.path + "/summary.json"] + range
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Look while it runs (its reads are slowed down on purpose), as `ps` would.
        var cmdline = ""
        for _ in 0..<200 where !cmdline.contains("prom-export") {
            cmdline = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/cmdline", encoding: .utf8)) ?? ""
            usleep(5000)
        }
        #expect(cmdline.contains("--basic-auth-password-file"), "\(cmdline)")
        expectNoSecret(in: cmdline, "the command line (ps)")
        let (stdout, stderr) = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                continuation.resume(returning: (stdout, stderr))
            }
        }
        #expect(process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("retry"))
        expectNoSecret(in: stdout + stderr, "prom-export's output")

        // 2. Password in the URL's user-info; then a run refused (another range for that archive), to check errors too.
        let urlArchive = dir.path + "/url-archive"
        let withURL = try await Executables.run("prom-export", [
            "--source-url", "http://admin:\(Self.urlSecret)@127.0.0.1:\(server.port)/api/v1/read", "-o", urlArchive] + range)
        #expect(withURL.status == 0, "\(withURL.stderr)")
        expectNoSecret(in: withURL.stdout + withURL.stderr, "prom-export's output (URL user-info)")
        let refused = try await Executables.run("prom-export", [
            "--source-url", "http://admin:\(Self.urlSecret)@127.0.0.1:\(server.port)/api/v1/read", "-o", fileArchive,
            "--start", "1700000000001", "--end", "1700001800000"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("holds an export of"))
        expectNoSecret(in: refused.stderr, "an error message")

        // 3. A bearer token from the environment, through prom-import.
        let target = FakeRemoteWriteTarget()
        let writeServer = try await ScriptedHTTPServer { request, _ in
            authorizations.withLock { $0.append(request.header("Authorization") ?? "") }
            return target.handle(request)
        }
        let imported = try await Executables.run("prom-import", [
            "--archive", fileArchive, "--target-url", writeServer.baseURL + "/api/v1/write", "--bearer-token-env", "PROMFERRY_TEST_TOKEN",
            "--log-level", "trace", "--summary-json", dir.path + "/import-summary.json"], environment: ["PROMFERRY_TEST_TOKEN": Self.tokenSecret])
        #expect(imported.status == 0, "\(imported.stderr)")
        expectNoSecret(in: imported.stdout + imported.stderr, "prom-import's output")
        try await writeServer.shutdown()
        try await server.shutdown()

        // The secrets did reach the servers…
        let seen = authorizations.withLock { $0 }
        #expect(seen.contains("Basic " + Data("admin:\(Self.passwordSecret)".utf8).base64EncodedString()))
        #expect(seen.contains("Basic " + Data("admin:\(Self.urlSecret)".utf8).base64EncodedString()))
        #expect(seen.contains("Bearer \(Self.tokenSecret)"))
        // …and nothing on disk holds them: archives, manifests, checksums, state, summaries.
        try expectNoSecret(inFilesUnder: dir.path + "/file-archive")
        try expectNoSecret(inFilesUnder: dir.path + "/url-archive")
        expectNoSecret(in: try String(contentsOfFile: dir.path + "/summary.json", encoding: .utf8), "summary.json")
        expectNoSecret(in: try String(contentsOfFile: dir.path + "/import-summary.json", encoding: .utf8), "import-summary.json")
    }
}
