import Foundation
import PeerHarness
import Testing
import TestSupport

/// Mistakes a new user makes, each through the real `prom-export` binary: one line on stderr naming
/// the problem and the fix, a non-zero exit status, and no stray files.
@Suite struct CommandLineErrorTests {
    func expectOneLineError(_ outcome: Executables.Outcome, status: Int32, containing fragments: [String]) {
        #expect(outcome.status == status, "exit \(outcome.status): \(outcome.stderr)")
        let lines = outcome.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(outcome.stderr)")
        #expect(lines.first?.hasPrefix("prom-export: error: ") == true, "stderr: \(outcome.stderr)")
        for fragment in fragments {
            #expect(outcome.stderr.contains(fragment), "expected “\(fragment)” in: \(outcome.stderr)")
        }
    }

    func export(_ arguments: [String]) async throws -> Executables.Outcome {
        try await Executables.run("prom-export", ["--quiet", "--start", "-1h"] + arguments)
    }

    @Test func usageMistakes() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let out = dir.path + "/archive"
        expectOneLineError(try await export(["--source-url", "localhost:9090", "-o", out]), status: 64,
                           containing: ["--source-url", "http://127.0.0.1:9090/api/v1/read"])
        expectOneLineError(try await export(["--source-url", "http://127.0.0.1:9/api/v1/read", "-o", out, "--match", #"up{job="node""#]),
                           status: 64, containing: ["column 14", "missing closing '}'"])
        expectOneLineError(try await Executables.run("prom-export", ["-q", "--source-url", "http://127.0.0.1:9/api/v1/read", "-o", out,
                                                               "--start", "now", "--end", "-2h"]),
                           status: 64, containing: ["--end", "not after --start"])
        expectOneLineError(try await export(["--source-url", "http://127.0.0.1:9/api/v1/read", "-o", out, "--slab", "1 hour"]),
                           status: 64, containing: ["1 hour"])
        expectOneLineError(try await export(["--source-url", "http://127.0.0.1:9/api/v1/read"]), status: 64, containing: ["--output"])
        expectOneLineError(try await export(["--source-url", "http://127.0.0.1:9/api/v1/read", "-o", out, "--basic-auth-password-file",
                                       dir.path + "/nope"]), status: 64, containing: ["nope"])
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func unreachableSourceFailsFastAndLeavesNothing() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let port = try FreePort.allocate()
        let started = Date()
        let outcome = try await export(["--source-url", "http://127.0.0.1:\(port)/api/v1/read", "-o", dir.path + "/archive"])
        expectOneLineError(outcome, status: 1, containing: ["connection refused", "127.0.0.1:\(port)"])
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/archive"))
    }

    @Test(arguments: [
        (401, "check the credentials"), (404, "check the path of --source-url"), (500, "HTTP 500: tsdb is on fire"),
    ] as [(Int, String)])
    func serverRefusals(_ status: Int, _ hint: String) async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let server = try await ScriptedHTTPServer { _, _ in
            .respond(status: status, headers: [], body: Array("tsdb is on fire\n".utf8))
        }
        let outcome = try await export(["--source-url", server.baseURL + "/api/v1/read", "-o", dir.path + "/archive", "--max-attempts", "2"])
        try await server.shutdown()
        expectOneLineError(outcome, status: 1, containing: ["HTTP \(status)", hint])
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/archive"))
    }

    @Test func nonEmptyUnrelatedDirectoryIsRefusedUntouched() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        try Data("precious".utf8).write(to: URL(fileURLWithPath: dir.path + "/thesis.tex"))
        let server = try await ScriptedHTTPServer { _, _ in .respond(status: 500, headers: [], body: []) }
        let outcome = try await export(["--source-url", server.baseURL + "/api/v1/read", "-o", dir.path])
        try await server.shutdown()
        expectOneLineError(outcome, status: 1, containing: [dir.path, "not empty", "choose an empty or new directory"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["thesis.tex"])
        #expect(server.received.isEmpty)
    }

    @Test func versionNamesFormatsAndCodecs() async throws {
        let outcome = try await Executables.run("prom-export", ["--version"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("prom-export 0.1.0"))
        #expect(outcome.stdout.contains("segment v2"))
        #expect(outcome.stdout.contains("libzstd 1."))
    }
}
