import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One run of a tool as a child process: wall time, CPU time and peak resident memory.
///
/// The peak is the child's own `VmHWM` (from `/proc/PID/status`), read every 10 ms until it exits.
/// `ru_maxrss` from `wait4` would be wrong here: `posix_spawn` starts the child on this process'
/// memory (vfork), and Linux carries that memory's high-water mark into the child's `maxrss` at exec.
struct MeasuredRun {
    let wallSeconds: Double
    /// User plus system time of the child, from `wait4`'s rusage (correct for a spawned child, unlike its maxrss).
    let cpuSeconds: Double
    let peakRSSBytes: Int
    let output: String

    /// Runs `path` with `arguments`, its stdout and stderr to `logPath`; throws when it fails.
    static func run(_ path: String, _ arguments: [String], logPath: String) throws -> MeasuredRun {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let began = ContinuousClock.now
        let status = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard status == 0 else { throw BenchError("cannot start \(path): \(String(cString: strerror(status)))") }
        var waitStatus: Int32 = 0
        var usage = rusage()
        var peak = 0
        while true {
            peak = max(peak, highWaterMark(pid))
            let reaped = wait4(pid, &waitStatus, WNOHANG, &usage)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { throw BenchError("wait4: \(String(cString: strerror(errno)))") }
            usleep(10_000)
        }
        let elapsed = ContinuousClock.now - began
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let exited = waitStatus & 0x7f == 0
        let code = (waitStatus >> 8) & 0xff
        guard exited && code == 0 else {
            throw BenchError("\((path as NSString).lastPathComponent) \(arguments.joined(separator: " ")) failed "
                + "(status \(waitStatus)):\n\(output.suffix(2000))")
        }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return MeasuredRun(wallSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                           cpuSeconds: seconds(usage.ru_utime) + seconds(usage.ru_stime), peakRSSBytes: peak, output: output)
    }
}

/// `VmHWM` of a live process in bytes; 0 once it has exited.
private func highWaterMark(_ pid: pid_t) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kib = line.split(separator: " ").compactMap({ Int($0) }).first else { return 0 }
    return kib * 1024
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
