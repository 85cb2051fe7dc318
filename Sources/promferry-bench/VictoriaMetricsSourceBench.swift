import ArchiveStore
import Foundation
import PeerHarness
import PrometheusWire
import ArchiveFormat

/// `--vm-source SERIESxHOURS`: the same exporter-shaped data in a Prometheus 2.42 (promtool blocks) and a
/// VictoriaMetrics 1.79 (remote write), each exported with prom-export, alternately, `rounds` times:
/// remote read against `--source-vm`, throughput and peak RSS side by side from one run.
extension PromferryBench {
    func victoriaMetricsSourceBench(series: Int, hours: Int, workspace: TemporaryDirectory, rounds: Int = 2) async throws {
        let (startMs, endMs) = recentRange(minutes: hours * 60)
        let dir = workspace.path + "/vm-source"
        let prometheus = try await seededSource(series: series, hours: hours, dir: dir, data: .exporter)
        defer { prometheus.stop() }
        let victoria = try await VictoriaMetricsServer.start()
        defer { victoria.stop() }
        let data = DataSet.exporter.series(count: series, startMs: startMs, endMs: endMs)
        progress("writing the same \(data.reduce(0) { $0 + $1.samples.count }) samples into VictoriaMetrics through remote write")
        try await RemoteWriteSeeder.write(data, to: victoria.writeURL)
        try await victoria.flush()

        let common = ["--start", "\(startMs)", "--end", "\(endMs)", "--quiet", "--concurrency", "\(exportConcurrency)",
                      "--max-memory", maxMemory]
        var runs: [(source: String, samples: Int, seconds: Double, rss: Int, toolCPU: Double, serverCPU: Double)] = []
        for round in 0..<rounds {
            for (name, flag, url) in [("Prometheus (remote read)", "--source-url", prometheus.readURL),
                                      ("VictoriaMetrics (--source-vm)", "--source-vm", victoria.baseURL)] {
                let archive = dir + "/archive-\(round)-\(flag)"
                progress("export \(round + 1)/\(rounds) from \(name)")
                let server = { flag == "--source-vm" ? victoria.cpuSeconds : prometheus.cpuSeconds }
                let serverBefore = server()
                let run = try MeasuredRun.run(exportPath, [flag, url, "--archive", archive] + common, logPath: dir + "/export.log")
                let samples = try ArchiveDirectory(root: archive).readManifest().totalSamples
                runs.append((name, samples, run.wallSeconds, run.peakRSSBytes, run.cpuSeconds, server() - serverBefore))
                try? FileManager.default.removeItem(atPath: archive)
            }
        }
        print("| \(series) exporter-shaped series × \(hours) h, exported \(rounds) times from each source, alternately "
            + "| samples | samples/s | peak RSS | prom-export CPU | server CPU |")
        print("| --- | --- | --- | --- | --- | --- |")
        for run in runs {
            print("| \(run.source) | \(run.samples) | \(Table.rate(run.samples, run.seconds)) | \(Table.mib(run.rss)) "
                + "| \(String(format: "%.2f s", run.toolCPU)) | \(String(format: "%.2f s", run.serverCPU)) |")
        }
    }
}
