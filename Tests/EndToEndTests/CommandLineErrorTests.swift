import Foundation
import PeerHarness
import Testing
import TestSupport

/// Mistakes a new user makes, each through the real `prom-export` binary: one line on stderr naming
/// the problem and the fix, a non-zero exit status, and no stray files.
@Suite struct CommandLineErrorTests {
    func expectOneLineError(_ outcome: Executables.Outcome, status: Int32, containing fragments: [String], tool: String = "prom-export") {
        #expect(outcome.status == status, "exit \(outcome.status): \(outcome.stderr)")
        let lines = outcome.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(outcome.stderr)")
        #expect(lines.first?.hasPrefix("\(tool): error: ") == true, "stderr: \(outcome.stderr)")
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
        expectOneLineError(try await export(["--source-url", "http://127.0.0.1:9/api/v1/read"]), status: 64, containing: ["--archive DIR"])
        expectOneLineError(try await export(["--source-url", "http://127.0.0.1:9/api/v1/read", "-o", out, "--basic-auth-password-file",
                                       dir.path + "/nope"]), status: 64, containing: ["nope"])
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// Values at the edges of their types once trapped (SIGILL with a backtrace) or were silently
    /// bent (port 99999 taken modulo 65536, February 30 read as March 2); each is now a usage error.
    @Test(arguments: [
        ("prom-export", ["--max-memory", "9000000000GiB"], "larger than 1024.0 TiB"),
        ("prom-import", ["--max-memory", "9000000000GiB"], "larger than 1024.0 TiB"),
        ("prom-export", ["--segment-size", "99999999999999999999999B"], "larger than 1024.0 TiB"),
        ("prom-import", ["--rate-limit", "1e-300"], "--rate-limit"),
        ("prom-import", ["--target-url", "http://127.0.0.1:9/api/v1/read"], "is a remote-read URL; the target takes remote write"),
        ("prom-export", ["--source-url", "http://127.0.0.1:9/api/v1/write"], "is a remote-write URL; the source is read"),
        ("prom-export", ["--source-url", "http://127.0.0.1:84637/api/v1/read"], "port 84637 is outside 1-65535"),
        ("prom-import", ["--target-url", "http://127.0.0.1:99999/api/v1/write"], "port 99999 is outside 1-65535"),
        ("prom-export", ["--start", "2026-02-30T00:00:00Z"], "2026-02-30 is not a date of the calendar"),
        ("prom-export", ["--start", "2025-02-29"], "2025-02-29 is not a date of the calendar"),
        ("prom-export", ["--start", "2026-01-01T24:00:00Z"], "24:00:00 is not a time of day"),
        ("prom-export", ["--slab", "9223372036854775807ms9223372036854775807ms"], "too long a duration"),
        ("prom-export", ["--start", "-999999999999y"], "too long a duration"),
        ("prom-export", ["--header", "X-Scope-OrgID=a\r\nX-Evil: 1"], "line break"),
        ("prom-export", ["--summary-json", "/nonexistent-promferry/summary.json"], "/nonexistent-promferry does not exist"),
        ("prom-import", ["--summary-json", "/nonexistent-promferry/summary.json"], "/nonexistent-promferry does not exist"),
    ] as [(String, [String], String)])
    func edgeValuesAreUsageErrorsNotTraps(_ tool: String, _ arguments: [String], _ fragment: String) async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        var base = tool == "prom-export"
            ? ["--quiet", "--source-url", "http://127.0.0.1:9/api/v1/read", "-o", dir.path + "/archive", "--start", "-1h"]
            : ["--quiet", "--archive", dir.path + "/archive", "--target-url", "http://127.0.0.1:9/api/v1/write"]
        // The case's own flags come last and win over the base ones (ArgumentParser keeps the last).
        base += arguments
        let outcome = try await Executables.run(tool, base)
        expectOneLineError(outcome, status: 64, containing: [fragment], tool: tool)
        #expect(!outcome.stderr.contains("Stack dump") && !outcome.stderr.contains("Fatal error"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/archive"))
    }

    @Test func anEndInTheFutureIsAUsageError() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let later = Int64(Date().timeIntervalSince1970 * 1000) + 3 * 3_600_000
        let outcome = try await export(["--source-url", "http://127.0.0.1:9/api/v1/read", "-o", dir.path + "/archive", "--end", "\(later)"])
        expectOneLineError(outcome, status: 64, containing: ["--end \(later)", "from now; the source cannot hold those samples yet"])
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/archive"))
    }

    /// SIGTERM (a service manager stopping the tool) gets the same clean stop as Ctrl-C: the message
    /// that says how to resume, and exit status 130 (it was 143, silently).
    @Test func sigtermStopsCleanlyWithTheResumeHint() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let server = try await ScriptedHTTPServer { request, _ in
            request.method == "POST" ? .delay(milliseconds: 30_000, then: .close) : .respond(status: 404, headers: [], body: [])
        }
        let stderrPath = dir.path + "/stderr"
        let process = try Executables.start("prom-export", ["--source-url", server.baseURL + "/api/v1/read", "-o", dir.path + "/archive",
                                                            "--start", "-1h", "--quiet"], stderrPath: stderrPath)
        let deadline = Date().addingTimeInterval(20)
        while server.received.allSatisfy({ $0.method != "POST" }) && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(server.received.contains { $0.method == "POST" }, "the export never sent a read")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        try await server.shutdown()
        #expect(process.terminationReason == .exit && process.terminationStatus == 130,
                "\(process.terminationReason == .exit ? "exit" : "signal") \(process.terminationStatus)")
        let stderr = try String(contentsOfFile: stderrPath, encoding: .utf8)
        #expect(stderr.contains("interrupted: the archive holds every slab completed so far; re-run the same command to resume"))
    }

    @Test func unreachableSourceFailsFastAndLeavesNothing() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let port = try FreePort.allocate()
        let outcome = try await export(["--source-url", "http://127.0.0.1:\(port)/api/v1/read", "-o", dir.path + "/archive"])
        expectOneLineError(outcome, status: 1, containing: ["connection refused", "127.0.0.1:\(port)"])
        // Without the up-front check the HTTP pool retries until each attempt's 10 s connect timeout, six
        // times. The bound is loose because the suite runs many servers and binaries at once.
        #expect(outcome.seconds < 30)
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
        #expect(outcome.stdout.contains("segment v4"))
        #expect(outcome.stdout.contains("libzstd 1."))
    }
}
