public import Foundation

/// A child process whose output goes to a log file, stopped with SIGTERM (then SIGKILL).
public final class ManagedProcess: @unchecked Sendable {
    public let process: Process
    public let logPath: String

    public init(executable: String, arguments: [String], logPath: String, environment: [String: String]? = nil) throws {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        if let environment { process.environment = environment }
        self.logPath = logPath
        try process.run()
    }

    public var isRunning: Bool { process.isRunning }

    /// CPU time (user + system) the process has used so far, from `/proc/PID/stat`; 0 once it has exited.
    public var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let afterName = stat.range(of: ") ", options: .backwards) else { return 0 }
        // Fields after the command name start at field 3 (state); utime and stime are fields 14 and 15.
        let fields = stat[afterName.upperBound...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The last lines of the process' output, for error messages.
    public func logTail(lines: Int = 15) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    public func logContains(_ text: String) -> Bool {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").contains(text)
    }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<100 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    deinit { stop() }
}

/// Runs a command to completion; throws with its output when it fails.
public enum Command {
    /// `environment` is added to this process' own.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: output, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw PeerHarnessError("\(executable) \(arguments.joined(separator: " ")) failed (exit \(process.terminationStatus)): "
                + text.split(separator: "\n").suffix(10).joined(separator: "\n"))
        }
        return text
    }
}
