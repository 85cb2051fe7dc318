import ArgumentParser
import CommandLineSupport
import Foundation
import PeerHarness
import PrometheusWire

/// The README's first command: the whole story on built-in defaults, with real servers on loopback.
@main
struct PromferryDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promferry-demo",
        abstract: "Start a local Prometheus with sample history, export it with prom-export, and verify the archive.",
        version: VersionText.make(tool: "promferry-demo"))

    @Option(help: "Number of sample series.")
    var series = 200

    @Option(help: "Hours of history at a 15 s interval.")
    var hours = 24

    @Option(help: "Where to write the archive (default: a new temporary directory, kept afterwards).")
    var archive: String?

    func run() async throws {
        let workspace = try TemporaryDirectory(prefix: "promferry-demo")
        let hourMs: Int64 = 3_600_000
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let endMs = (nowMs / hourMs - 1) * hourMs
        let startMs = endMs - Int64(hours) * hourMs
        let history = SampleHistory(seriesCount: series, startMs: startMs, endMs: endMs)
        let archivePath = archive ?? workspace.path + "/archive"
        say("1/4 generating \(series) series × \(hours) h of history and loading it with promtool")
        let openMetrics = workspace.path + "/history.om"
        try history.writeOpenMetrics(to: openMetrics)
        let server = try await PrometheusServer.start(openMetricsFile: openMetrics,
                                                      options: .init(externalLabels: ["origin": "promferry-demo"]))
        defer { server.stop() }
        // Staleness markers cannot be written as OpenMetrics text; push a series holding some.
        let stale = Series(labels: Labels(sorting: [Label("__name__", "promferry_demo_stale_series"), Label("job", "demo")]),
                           samples: (0..<8).map { i in
                               Sample(timestampMs: startMs + Int64(i) * 60_000,
                                      valueBits: i % 3 == 2 ? Sample.staleNaNBits : Double(i).bitPattern)
                           })
        try await RemoteWriteSeeder.write([stale], to: server.writeURL)
        say("    Prometheus \(server.baseURL) is serving \(history.sampleCount + stale.samples.count) samples")

        say("2/4 exporting with prom-export")
        let exporter = Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent("prom-export").path
        let arguments = ["--source-url", server.readURL, "--output", archivePath,
                         "--start", String(startMs), "--end", String(endMs), "--slab", "2h", "--drop-label", "origin"]
        say("    prom-export " + arguments.joined(separator: " "))
        let status = try runInheriting(exporter, arguments)
        guard status == 0 else { throw PeerHarnessError("prom-export failed with exit status \(status)") }

        say("3/4 verifying the archive against Prometheus, sample for sample, bit for bit")
        var archived = try SeriesComparison.archiveContents(archivePath)
        var served = try await SeriesComparison.remoteContents(url: server.readURL, startMs: startMs, endMs: endMs)
        served = Dictionary(uniqueKeysWithValues: served.map { ($0.key.removing(names: ["origin"]), $0.value) })
        let differences = SeriesComparison.differences(expected: served, actual: SeriesComparison.asSamplesResponse(archived))
        guard differences.isEmpty else {
            throw PeerHarnessError("the archive differs from Prometheus:\n" + differences.joined(separator: "\n"))
        }
        archived[stale.labels] = nil
        var generated: SeriesMap = [:]
        for s in history.series() { generated[s.labels] = s.samples }
        let exact = SeriesComparison.differences(expected: generated, actual: archived)
        guard exact.isEmpty else { throw PeerHarnessError("the archive differs from the generated data:\n" + exact.joined(separator: "\n")) }
        say("    \(served.count) series and \(SeriesComparison.sampleCount(served)) samples match "
            + "(staleness markers, NaN, ±Inf and -0.0 included)")

        say("4/4 checking the archive with coreutils alone")
        let sums = try Command.run("/usr/bin/env", ["sh", "-c", "cd '\(archivePath)' && sha256sum -c SHA256SUMS"])
        say("    sha256sum -c: \(sums.split(separator: "\n").count) files OK")
        say("\nArchive kept at \(archivePath). Look inside: cat \(archivePath)/manifest.json")
        say("prom-import (the replay half) is not built yet; see the README.")
    }

    func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    func runInheriting(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
