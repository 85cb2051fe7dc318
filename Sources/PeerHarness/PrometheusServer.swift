import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A real Prometheus on 127.0.0.1 and a free port, with its own data directory.
///
/// `start` optionally seeds history with `promtool tsdb create-blocks-from openmetrics` before the
/// server opens the directory. The remote-write receiver and an out-of-order window (needed to accept
/// historical samples) are switched on, so the same server can be a source and a target.
public final class PrometheusServer: @unchecked Sendable {
    public let port: Int
    public let dataDirectory: String
    public let directory: TemporaryDirectory
    private let process: ManagedProcess

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var readURL: String { baseURL + "/api/v1/read" }
    public var writeURL: String { baseURL + "/api/v1/write" }
    /// CPU time the server has used since it started.
    public var cpuSeconds: Double { process.cpuSeconds }

    public struct Options: Sendable {
        public var externalLabels: [String: String] = [:]
        public var outOfOrderWindow = "30d"
        public var extraArguments: [String] = []
        /// A web configuration (TLS, basic-auth users), as the text of `--web.config.file`.
        public var webConfig: String?
        /// A TSDB directory (e.g. a snapshot) whose blocks are copied into the new data directory before start.
        public var copyBlocksFrom: String?
        public init(externalLabels: [String: String] = [:], outOfOrderWindow: String = "30d", extraArguments: [String] = [],
                    webConfig: String? = nil, copyBlocksFrom: String? = nil) {
            self.externalLabels = externalLabels
            self.outOfOrderWindow = outOfOrderWindow
            self.extraArguments = extraArguments
            self.webConfig = webConfig
            self.copyBlocksFrom = copyBlocksFrom
        }
    }

    private init(port: Int, directory: TemporaryDirectory, process: ManagedProcess) {
        self.port = port
        self.directory = directory
        self.dataDirectory = directory.path + "/data"
        self.process = process
    }

    /// Starts a server, seeding it from `openMetricsFile` when given, and waits until it is ready.
    public static func start(openMetricsFile: String? = nil, options: Options = Options()) async throws -> PrometheusServer {
        let prometheus = try PeerBinary.find("prometheus")
        let directory = try TemporaryDirectory(prefix: "promferry-prometheus")
        let data = directory.path + "/data"
        if let source = options.copyBlocksFrom {
            try FileManager.default.copyItem(atPath: source, toPath: data)
        } else {
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        }
        if let openMetricsFile {
            let promtool = try PeerBinary.find("promtool")
            try Command.run(promtool, ["tsdb", "create-blocks-from", "openmetrics", openMetricsFile, data])
        }
        var config = "global:\n  scrape_interval: 1h\n"
        if !options.externalLabels.isEmpty {
            config += "  external_labels:\n"
            for (name, value) in options.externalLabels.sorted(by: { $0.key < $1.key }) {
                config += "    \(name): \"\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"\n"
            }
        }
        config += "storage:\n  tsdb:\n    out_of_order_time_window: \(options.outOfOrderWindow)\n"
        let configPath = directory.path + "/prometheus.yml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        var extra = options.extraArguments
        if let webConfig = options.webConfig {
            try webConfig.write(toFile: directory.path + "/web.yml", atomically: true, encoding: .utf8)
            extra.append("--web.config.file=\(directory.path)/web.yml")
        }
        let port = try FreePort.allocate()
        let process = try ManagedProcess(executable: prometheus, arguments: [
            "--config.file=\(configPath)", "--storage.tsdb.path=\(data)",
            "--web.listen-address=127.0.0.1:\(port)", "--storage.tsdb.retention.time=100y",
            "--web.enable-remote-write-receiver", "--log.level=info",
        ] + extra, logPath: directory.path + "/prometheus.log")
        let server = PrometheusServer(port: port, directory: directory, process: process)
        do {
            try await server.waitUntilReady()
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    func waitUntilReady() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw PeerHarnessError("prometheus exited during start-up:\n\(process.logTail())")
            }
            // Prometheus says so in its log; this works behind TLS and authentication too.
            if process.logContains("Server is ready to receive web requests") { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw PeerHarnessError("prometheus on port \(port) was not ready after 60 s:\n\(process.logTail())")
    }

    public func stop() {
        process.stop()
        directory.remove()
    }

    /// Stops the server but keeps its data directory (for tests that look at it afterwards).
    public func stopKeepingData() {
        process.stop()
    }

    /// Runs `body` with a started server and always stops it.
    public static func with<T>(openMetricsFile: String? = nil, options: Options = Options(),
                               _ body: (PrometheusServer) async throws -> T) async throws -> T {
        let server = try await start(openMetricsFile: openMetricsFile, options: options)
        do {
            let result = try await body(server)
            server.stop()
            return result
        } catch {
            server.stop()
            throw error
        }
    }
}

/// One-off HTTP requests for readiness checks and seeding.
public enum HTTPProbe {
    public static func status(_ url: String) async throws -> Int {
        let request = HTTPClientRequest(url: url)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(2))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    /// POSTs `body` and returns the status and the response text.
    public static func post(_ url: String, body: [UInt8], headers: [(String, String)]) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: text))
    }
}
