import ArchiveStore
import Foundation
import PeerHarness
import ArchiveFormat

/// The sweeps that the tools' defaults rest on: the same data moved once per setting, each setting
/// against its own fresh peer. A setting may be listed twice, to see the machine's noise.
extension PromferryBench {
    /// Exports the same data once per concurrency, each into a new archive: what `--concurrency`'s default rests on.
    func sweepExportConcurrency(_ levels: [Int], size: (Int, Int), workspace: TemporaryDirectory) async throws {
        let (startMs, endMs) = recentRange(minutes: size.1 * 60)
        let dir = workspace.path + "/sweep"
        let source = try await seededSource(series: size.0, hours: size.1, dir: dir)
        defer { source.stop() }
        print("| prom-export --concurrency | samples/s | peak RSS |\n| --- | --- | --- |")
        for (attempt, level) in levels.enumerated() {
            let archive = dir + "/archive-\(attempt)-\(level)"
            let run = try MeasuredRun.run(exportPath, ["--source-url", source.readURL, "--archive", archive, "--start", "\(startMs)",
                                                       "--end", "\(endMs)", "--quiet", "--concurrency", "\(level)",
                                                       "--max-memory", maxMemory], logPath: dir + "/export-\(attempt)-\(level).log")
            let samples = try ArchiveDirectory(root: archive).readManifest().totalSamples
            print("| \(level) | \(Table.rate(samples, run.wallSeconds)) | \(Table.mib(run.peakRSSBytes)) |")
        }
    }

    /// Exports the data once, stops the source, then imports the archive into a fresh VictoriaMetrics
    /// once per (concurrency, batch samples) setting: what prom-import's defaults rest on.
    func sweepImportSettings(_ settings: [(concurrency: Int, batchSamples: Int)], size: (Int, Int),
                             workspace: TemporaryDirectory) async throws {
        let (startMs, endMs) = recentRange(minutes: size.1 * 60)
        let dir = workspace.path + "/import-sweep"
        let archive = dir + "/archive"
        do {
            let source = try await seededSource(series: size.0, hours: size.1, dir: dir)
            defer { source.stop() }
            progress("exporting once")
            _ = try MeasuredRun.run(exportPath, ["--source-url", source.readURL, "--archive", archive, "--start", "\(startMs)",
                                                 "--end", "\(endMs)", "--quiet", "--max-memory", maxMemory], logPath: dir + "/export.log")
        }
        let samples = try ArchiveDirectory(root: archive).readManifest().totalSamples
        print("| prom-import --concurrency | --batch-samples | samples/s | CPU ns/sample: prom-import + VictoriaMetrics | peak RSS |")
        print("| --- | --- | --- | --- | --- |")
        for (attempt, setting) in settings.enumerated() {
            progress("importing with --concurrency \(setting.concurrency) --batch-samples \(setting.batchSamples)")
            let victoria = try await VictoriaMetricsServer.start()
            defer { victoria.stop() }
            let before = victoria.cpuSeconds
            let run = try MeasuredRun.run(importPath, ["--archive", archive, "--target-url", victoria.writeURL, "--quiet",
                                                       "--concurrency", "\(setting.concurrency)",
                                                       "--batch-samples", "\(setting.batchSamples)", "--max-memory", maxMemory,
                                                       "--state", dir + "/state-\(attempt)"], logPath: dir + "/import-\(attempt).log")
            let victoriaCPU = victoria.cpuSeconds - before
            print("| \(setting.concurrency) | \(setting.batchSamples) | \(Table.rate(samples, run.wallSeconds)) | "
                + "\(Table.nanos(run.cpuSeconds, samples)) + \(Table.nanos(victoriaCPU, samples)) | \(Table.mib(run.peakRSSBytes)) |")
        }
    }

    /// A Prometheus loaded by promtool with `series` × `hours` of a data set ending at the previous full hour.
    func seededSource(series: Int, hours: Int, dir: String, data: DataSet = .random) async throws -> PrometheusServer {
        let (startMs, endMs) = recentRange(minutes: hours * 60)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        progress("\(series) series × \(hours) h of \(data.rawValue) data: generating and loading with promtool")
        try OpenMetricsFile.write(data.series(count: series, startMs: startMs, endMs: endMs), to: dir + "/history.om")
        defer { try? FileManager.default.removeItem(atPath: dir + "/history.om") }
        return try await PrometheusServer.start(openMetricsFile: dir + "/history.om")
    }
}
