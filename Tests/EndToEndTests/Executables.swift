import Foundation
import PeerHarness
import Testing

/// The built command-line tools, beside the test binary in the build directory.
enum Executables {
    static func path(_ name: String) throws -> String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [beside, beside.deletingLastPathComponent(),
                          URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug")] {
            let candidate = directory.appendingPathComponent(name).standardized.path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            // The tools are symlinks to the one binary (scripts/link-tools makes them; a plain `swift test` may not have).
            if ["prom-export", "prom-import", "prom-archive"].contains(name),
               FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("promferry").path) {
                try? FileManager.default.createSymbolicLink(atPath: candidate, withDestinationPath: "promferry")
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        throw PeerHarnessError("\(name) is not built; run `swift build --build-tests` (scripts/test does) before the tests")
    }

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
        /// From the process' start to its exit (not counting the wait for a thread to run it on).
        var seconds = 0.0
    }

    /// Runs a tool to completion with its output captured. The waiting happens on a dispatch thread, not
    /// in Swift's cooperative pool, whose few threads other tests' timers need.
    /// Runs one of the project's tools by name, or any program by absolute path.
    /// `directory` is the working directory (default: the test's).
    static func run(_ name: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil) async throws -> Outcome {
        let path = name.hasPrefix("/") ? name : try path(name)
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(path, arguments, environment: environment, directory: directory) })
            }
        }
    }

    /// Runs `prom-import` with `--verify` (and whatever else `arguments` hold) against a Prometheus 2.42,
    /// and again, 20 s apart, up to three times while the verification fails (status 3). Prometheus before
    /// 2.49 can answer a read with a partial view while it compacts out-of-order chunks
    /// (prometheus/prometheus#13115; the import's own message says so): this is what that message tells
    /// an operator. A run after a complete import sends nothing, so a sample really lost stays missing.
    static func importVerifyingPrometheus(_ arguments: [String]) async throws -> Outcome {
        var last = try await run("prom-import", arguments)
        for _ in 0..<3 where last.status == 3 {
            try await Task.sleep(for: .seconds(20))
            last = try await run("prom-import", arguments)
        }
        return last
    }

    private static func runBlocking(_ path: String, _ arguments: [String], environment: [String: String]?, directory: String?) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let started = Date()
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self), seconds: Date().timeIntervalSince(started))
    }

    /// Starts a tool without waiting; its output is discarded, or its stderr written to `stderrPath`.
    static func start(_ name: String, _ arguments: [String], stderrPath: String? = nil, environment: [String: String]? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path(name))
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        if let stderrPath {
            FileManager.default.createFile(atPath: stderrPath, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: stderrPath)
        }
        try process.run()
        return process
    }
}

extension Executables {
    /// Starts `tool` again and again, SIGKILLing it after a random delay (from a printed seed), until it
    /// exits by itself or `rounds` runs were made; `afterEach` checks the state after every run.
    /// Returns how many times it was killed and, when it finished by itself, its exit status.
    static func killRepeatedly(_ tool: String, _ arguments: [String], rounds: Int, delayMs: Range<Int>, environment: [String: String]? = nil,
                               afterEach: () throws -> Void = {}) async throws -> (kills: Int, status: Int32?) {
        // PROMFERRY_KILL_SEED=N replays a run.
        let seed = ProcessInfo.processInfo.environment["PROMFERRY_KILL_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0..<1_000_000)
        print("\(tool) kill/resume seed: \(seed) (replay with PROMFERRY_KILL_SEED=\(seed))")
        var rng = SplitMix(seed: seed)
        var kills = 0
        let stderrPath = NSTemporaryDirectory() + "/promferry-kill-\(tool)-\(seed).stderr"
        defer { try? FileManager.default.removeItem(atPath: stderrPath) }
        for _ in 0..<rounds {
            let process = try start(tool, arguments, stderrPath: stderrPath, environment: environment)
            let delay = delayMs.lowerBound + Int(rng.next() % UInt64(delayMs.count))
            // The kill fires from a dispatch timer, so it lands on time however busy the test's own threads are.
            let killed: Bool = await withCheckedContinuation { continuation in
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) {
                    let running = process.isRunning
                    if running { kill(process.processIdentifier, SIGKILL) }
                    process.waitUntilExit()
                    continuation.resume(returning: running)
                }
            }
            if !killed && process.terminationStatus != 0 {
                print("\(tool) exited with status \(process.terminationStatus): "
                    + ((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""))
            }
            try afterEach()
            if killed {
                kills += 1
            } else {
                return (kills, process.terminationStatus)
            }
        }
        return (kills, nil)
    }
}

/// `--log-format json` output: every stderr line that is a JSON object, each checked for the keys
/// every event carries.
enum JSONLogLines {
    static func parse(_ stderr: String) throws -> [[String: String]] {
        try stderr.split(separator: "\n").filter { $0.hasPrefix("{") }.map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], "\(line)")
            for key in ["time", "level", "logger", "message"] { #expect(object[key] != nil, "\(key) missing in \(line)") }
            return object
        }
    }
}
