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
        abstract: "The whole migration on loopback: Prometheus → prom-export → archive → prom-import → VictoriaMetrics and a second Prometheus, verified; then back out of VictoriaMetrics with --source-vm.",
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
        // Native histograms cannot be backfilled into Prometheus 2.42 (no out-of-order histograms): they
        // cover the last 45 minutes up to the last whole minute, after the blocks end. (2.42 refuses a
        // histogram more than an hour older than its newest sample, and prom-import's senders may run that
        // far apart on longer histogram history.)
        let exportEndMs = (nowMs / 60_000 - 1) * 60_000
        let histograms = HistogramHistory(seriesCount: 12, startMs: max(endMs, exportEndMs - 45 * 60_000), endMs: exportEndMs,
                                          gaugesGoDown: false).series()
        let archivePath = archive ?? workspace.path + "/archive"
        say("1/7 generating \(series) series × \(hours) h of history and loading it into Prometheus with promtool")
        let openMetrics = workspace.path + "/history.om"
        try history.writeOpenMetrics(to: openMetrics)
        let histogramFlag = ["--enable-feature=native-histograms"]
        let server = try await PrometheusServer.start(openMetricsFile: openMetrics,
                                                      options: .init(externalLabels: ["origin": "promferry-demo"], extraArguments: histogramFlag))
        defer { server.stop() }
        // Staleness markers cannot be written as OpenMetrics text; push a series holding some.
        let stale = Series(labels: Labels(sorting: [Label("__name__", "promferry_demo_stale_series"), Label("job", "demo")]),
                           samples: (0..<8).map { i in
                               Sample(timestampMs: startMs + Int64(i) * 60_000,
                                      valueBits: i % 3 == 2 ? Sample.staleNaNBits : Double(i).bitPattern)
                           })
        try await RemoteWriteSeeder.write([stale], to: server.writeURL)
        try await RemoteWriteSeeder.writeInTimeOrder(histograms, to: server.writeURL)
        let histogramCount = histograms.reduce(0) { $0 + $1.histograms.count }
        say("    source Prometheus \(server.baseURL) serves \(history.sampleCount + stale.samples.count) float samples and "
            + "\(histogramCount) native histograms (\(histograms.count) series, written through remote write)")

        say("2/7 exporting with prom-export")
        try runTool("prom-export", ["--source-url", server.readURL, "--archive", archivePath,
                                    "--start", String(startMs), "--end", String(exportEndMs), "--slab", "2h", "--drop-label", "origin"])

        say("3/7 verifying the archive against the source, sample for sample, bit for bit")
        let archived = try SeriesComparison.archiveContents(archivePath)
        var served = try await SeriesComparison.remoteContents(url: server.readURL, startMs: startMs, endMs: exportEndMs)
        served = Dictionary(uniqueKeysWithValues: served.map { ($0.key.removing(names: ["origin"]), $0.value) })
        let differences = SeriesComparison.differences(expected: served, actual: SeriesComparison.asSamplesResponse(archived))
        guard differences.isEmpty else {
            throw PeerHarnessError("the archive differs from Prometheus:\n" + differences.joined(separator: "\n"))
        }
        // Histograms compared by meaning, read back as streamed chunks (SAMPLES answers of 2.42 cut them off).
        let archivedHistograms = try HistogramComparison.archiveHistograms(archivePath)
        let servedHistograms = try await HistogramComparison.remoteHistograms(url: server.readURL, startMs: startMs, endMs: exportEndMs)
        guard Dictionary(uniqueKeysWithValues: servedHistograms.map { ($0.key.removing(names: ["origin"]), $0.value) }) == archivedHistograms,
              archivedHistograms.values.reduce(0, { $0 + $1.count }) == histogramCount else {
            throw PeerHarnessError("the archive's native histograms differ from Prometheus'")
        }
        let sums = try Command.run("/usr/bin/env", ["sh", "-c", "cd '\(archivePath)' && sha256sum -c SHA256SUMS"])
        say("    \(served.count) series, \(SeriesComparison.sampleCount(served)) samples match (staleness markers, NaN, ±Inf, "
            + "-0.0 included), and all \(histogramCount) native histograms, every field; sha256sum -c: "
            + "\(sums.split(separator: "\n").count) files OK")

        say("4/7 importing into VictoriaMetrics with prom-import")
        let victoria = try await VictoriaMetricsServer.start()
        defer { victoria.stop() }
        // VictoriaMetrics 1.79 acknowledges native histograms and keeps none: they go as classic histograms,
        // and --verify reads everything back through /api/v1/export.
        try runTool("prom-import", ["--archive", archivePath, "--target-url", victoria.writeURL, "--histograms", "classic",
                                    "--state", workspace.path + "/victoria.state",
                                    "--verify", "--target-read-url", victoria.baseURL + "/api/v1/export"])
        // Checked independently too: VictoriaMetrics keeps staleness markers but drops other NaNs and stores -0.0 as 0.
        let expected = VictoriaMetricsServer.storable(archived)
        try await victoria.flush()
        let inVictoria = try await victoria.export(startMs: startMs, endMs: exportEndMs)
        let victoriaDifferences = SeriesComparison.differences(expected: expected, actual: inVictoria.filter { expected[$0.key] != nil })
        guard victoriaDifferences.isEmpty else {
            throw PeerHarnessError("VictoriaMetrics differs from the archive:\n" + victoriaDifferences.joined(separator: "\n"))
        }
        let classic = inVictoria.keys.filter { expected[$0] == nil }.count
        say("    VictoriaMetrics \(victoria.baseURL) holds all \(SeriesComparison.sampleCount(expected)) float samples it can store "
            + "(read back through /api/v1/export), and the native histograms as \(classic) classic _bucket/_count/_sum series")

        say("5/7 importing into a second Prometheus (native histograms enabled) with prom-import --verify")
        let target = try await PrometheusServer.start(options: .init(extraArguments: histogramFlag))
        defer { target.stop() }
        try runTool("prom-import", ["--archive", archivePath, "--target-url", target.writeURL, "--state", workspace.path + "/prometheus.state",
                                    "--verify", "--target-read-url", target.readURL])

        say("6/7 exporting back out of VictoriaMetrics with prom-export --source-vm (it has no remote read)")
        let fromVictoria = workspace.path + "/from-victoriametrics"
        try runTool("prom-export", ["--source-vm", victoria.baseURL, "--archive", fromVictoria,
                                    "--start", String(startMs), "--end", String(exportEndMs), "--slab", "2h"])
        // VictoriaMetrics re-encodes its decimal blocks when it merges parts in the background, so a value
        // needing more digits than it keeps can come back an ulp apart from one read to the next: same
        // series, timestamps and counts, and values equal or within its precision (1e-11 relative).
        let victoriaServes = try await victoria.export(startMs: startMs, endMs: exportEndMs)
        let fromArchive = try SeriesComparison.archiveContents(fromVictoria)
        var moved = 0
        for (labels, samples) in victoriaServes {
            guard let archived = fromArchive[labels], archived.count == samples.count else {
                throw PeerHarnessError("the archive from VictoriaMetrics lacks samples of \(labels)")
            }
            for (a, b) in zip(archived, samples) where a.valueBits != b.valueBits {
                guard a.timestampMs == b.timestampMs, a.value.isFinite, b.value.isFinite,
                      (a.value - b.value).magnitude <= 1e-11 * max(a.value.magnitude, b.value.magnitude) else {
                    throw PeerHarnessError("the archive from VictoriaMetrics differs from what it serves: \(labels) at \(a.timestampMs)")
                }
                moved += 1
            }
        }
        guard fromArchive.count == victoriaServes.count else { throw PeerHarnessError("the archive from VictoriaMetrics holds other series") }
        say("    \(fromVictoria) holds what VictoriaMetrics serves: \(SeriesComparison.sampleCount(victoriaServes)) samples in "
            + "\(victoriaServes.count) series" + (moved == 0 ? ", bit for bit"
                : "; \(moved) values a last digit apart, which VictoriaMetrics itself re-encoded between the two reads"))

        say("7/7 done. Archive kept at \(archivePath); look inside: cat \(archivePath)/manifest.json")
    }

    func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Runs one of the tools built beside this one, showing its command line and output.
    func runTool(_ tool: String, _ arguments: [String]) throws {
        say("    $ \(tool) " + arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))
        let process = Process()
        process.executableURL = Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent(tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw PeerHarnessError("\(tool) failed with exit status \(process.terminationStatus)") }
    }
}
