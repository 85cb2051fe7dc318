import ArchiveFormat
import ArchiveStore
import Foundation
import PeerHarness

/// `--bucket SERIESxHOURS`: archives on object storage against archives on local disk (issue 19), in
/// one run. Exporter-shaped data is backfilled into a Prometheus 2.42; a SeaweedFS (`weed mini`,
/// SigV4 checked) serves a bucket on loopback. Then, alternately, `rounds` times each: `prom-export`
/// into a local directory and into `s3://bench/…`, and `prom-import` of the local and of the bucket
/// archive into a fresh VictoriaMetrics. Both stores are on the same disk, so the difference is the
/// object-store path itself (HTTP, SigV4, checksums, multipart), not the medium.
extension PromferryBench {
    func bucketBench(series: Int, hours: Int, workspace: TemporaryDirectory, rounds: Int = 2) async throws {
        let (startMs, endMs) = recentRange(minutes: hours * 60)
        let dir = workspace.path + "/bucket"
        let prometheus = try await seededSource(series: series, hours: hours, dir: dir, data: .exporter)
        defer { prometheus.stop() }
        let store = try await SeaweedServer.start()
        defer { store.stop() }
        try store.makeBucket("bench")
        for (name, value) in store.environment { setenv(name, value, 1) }
        let common = ["--source-url", prometheus.readURL, "--start", "\(startMs)", "--end", "\(endMs)", "--quiet",
                      "--concurrency", "\(exportConcurrency)", "--max-memory", maxMemory]

        var exports: [(name: String, samples: Int, seconds: Double, rss: Int, cpu: Double)] = []
        var imports: [(name: String, samples: Int, seconds: Double, rss: Int, cpu: Double, stored: Int)] = []
        for round in 0..<rounds {
            let local = dir + "/archive-\(round)", bucket = "s3://bench/archive-\(round)"
            for (name, archive) in [("local directory", local), ("bucket (SeaweedFS, s3://)", bucket)] {
                progress("export \(round + 1)/\(rounds) into a \(name)")
                let run = try MeasuredRun.run(exportPath, common + ["--archive", archive], logPath: dir + "/export.log")
                let samples = try ArchiveDirectory(root: archive).readManifest().totalSamples
                exports.append((name, samples, run.wallSeconds, run.peakRSSBytes, run.cpuSeconds))
            }
            for (name, archive) in [("local directory", local), ("bucket (SeaweedFS, s3://)", bucket)] {
                progress("import \(round + 1)/\(rounds) from a \(name)")
                let victoria = try await VictoriaMetricsServer.start()
                defer { victoria.stop() }
                let run = try MeasuredRun.run(importPath, ["--archive", archive, "--target-url", victoria.writeURL, "--quiet",
                                                           "--concurrency", "\(importConcurrency)", "--max-memory", maxMemory,
                                                           "--state", dir + "/import-\(round)-\(imports.count).state"], logPath: dir + "/import.log")
                let samples = try ArchiveDirectory(root: archive).readManifest().totalSamples
                try await victoria.flush()
                imports.append((name, samples, run.wallSeconds, run.peakRSSBytes, run.cpuSeconds,
                                try await storedSamples(victoria, startMs: startMs, endMs: endMs)))
            }
            try? FileManager.default.removeItem(atPath: local)
        }
        print("| \(series) exporter-shaped series × \(hours) h from Prometheus 2.42, \(rounds) times each, alternately | samples | wall time "
            + "| samples/s | peak RSS | prom-export CPU |")
        print("| --- | --- | --- | --- | --- | --- |")
        for run in exports {
            print("| export into a \(run.name) | \(run.samples) | \(String(format: "%.2f s", run.seconds)) | \(Table.rate(run.samples, run.seconds)) "
                + "| \(Table.mib(run.rss)) | \(String(format: "%.2f s", run.cpu)) |")
        }
        print("")
        print("| into a fresh VictoriaMetrics 1.79, \(rounds) times each, alternately | samples | wall time | samples/s | peak RSS "
            + "| prom-import CPU | samples VictoriaMetrics then holds |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for run in imports {
            print("| import from a \(run.name) | \(run.samples) | \(String(format: "%.2f s", run.seconds)) | \(Table.rate(run.samples, run.seconds)) "
                + "| \(Table.mib(run.rss)) | \(String(format: "%.2f s", run.cpu)) | \(run.stored) |")
        }
    }
}
