import ArchiveStore
import Foundation
import PeerHarness
import ArchiveFormat

/// `--tsdb SERIESxHOURS`: the TSDB-block paths of issue 18 on one data set, in one run.
///
/// Exporter-shaped data is backfilled into a Prometheus 2.42 with promtool (which compacts it). Then,
/// alternately, `rounds` times each:
/// - `prom-export --source-tsdb` of the data directory against `prom-export --source-url` (remote read)
///   from that Prometheus: samples/s, peak RSS, the tool's CPU and the server's, slabs and archive bytes/sample;
/// - into a fresh VictoriaMetrics: vmctl's `prometheus --prom-snapshot` of that directory, against our
///   offline export followed by `prom-import` (wall time of both, one after the other); each import is
///   checked by counting the samples VictoriaMetrics then holds.
/// And `prom-archive blocks` of the archive: samples/s, peak RSS, and the blocks' bytes per sample
/// beside Prometheus' own blocks of the same samples.
extension PromferryBench {
    func tsdbBench(series: Int, hours: Int, workspace: TemporaryDirectory, rounds: Int = 2) async throws {
        let (startMs, endMs) = recentRange(minutes: hours * 60)
        let dir = workspace.path + "/tsdb"
        let prometheus = try await seededSource(series: series, hours: hours, dir: dir, data: .exporter)
        defer { prometheus.stop() }
        // Let Prometheus finish compacting the promtool blocks, so that both paths read the same, settled blocks.
        try await Task.sleep(for: .seconds(10))
        let data = prometheus.dataDirectory
        let archivePath = tools + "/prom-archive"
        let common = ["--start", "\(startMs)", "--end", "\(endMs)", "--quiet", "--concurrency", "\(exportConcurrency)",
                      "--max-memory", maxMemory]

        var exports: [(name: String, samples: Int, seconds: Double, rss: Int, toolCPU: Double, serverCPU: Double, slabs: Int,
                       bytes: Int)] = []
        var migrations: [(name: String, seconds: Double, stored: Int)] = []
        var offlineArchive: String?
        for round in 0..<rounds {
            for (name, arguments) in [("TSDB directory (--source-tsdb)", ["--source-tsdb", data]),
                                      ("Prometheus remote read (--source-url)", ["--source-url", prometheus.readURL])] {
                let archive = dir + "/archive-\(round)-\(exports.count)"
                progress("export \(round + 1)/\(rounds) from \(name)")
                let serverBefore = prometheus.cpuSeconds
                let run = try MeasuredRun.run(exportPath, arguments + ["--archive", archive] + common, logPath: dir + "/export.log")
                let manifest = try ArchiveDirectory(root: archive).readManifest()
                let bytes = manifest.slabs.reduce(0) { $0 + $1.segments.reduce(0) { $0 + $1.bytes } }
                exports.append((name, manifest.totalSamples, run.wallSeconds, run.peakRSSBytes, run.cpuSeconds,
                                prometheus.cpuSeconds - serverBefore, manifest.slabs.count, bytes))
                if arguments[0] == "--source-tsdb" && offlineArchive == nil { offlineArchive = archive } else { try? FileManager.default.removeItem(atPath: archive) }
            }
            for name in ["vmctl prometheus --prom-snapshot", "prom-export --source-tsdb + prom-import"] {
                progress("into VictoriaMetrics \(round + 1)/\(rounds): \(name)")
                let victoria = try await VictoriaMetricsServer.start()
                defer { victoria.stop() }
                let seconds: Double
                if name.hasPrefix("vmctl") {
                    // vmctl's snapshot mode draws a progress bar and fails without a terminal: script(1) gives it one.
                    let command = [try PeerBinary.find("vmctl"), "prometheus", "--prom-snapshot", data, "--vm-addr", victoria.baseURL,
                                   "--prom-concurrency", "\(exportConcurrency)", "--vm-disable-progress-bar", "-s"].joined(separator: " ")
                    seconds = try MeasuredRun.run(try PeerBinary.find("script"), ["-q", "-e", "-c", command, "/dev/null"],
                                                  logPath: dir + "/vmctl.log").wallSeconds
                } else {
                    let archive = dir + "/migration-\(round)"
                    let export = try MeasuredRun.run(exportPath, ["--source-tsdb", data, "--archive", archive] + common, logPath: dir + "/export.log")
                    let load = try MeasuredRun.run(importPath, ["--archive", archive, "--target-url", victoria.writeURL, "--quiet",
                                                                "--concurrency", "\(importConcurrency)", "--max-memory", maxMemory,
                                                                "--state", dir + "/vm-\(round).state"], logPath: dir + "/import.log")
                    seconds = export.wallSeconds + load.wallSeconds
                    try? FileManager.default.removeItem(atPath: archive)
                }
                try await victoria.flush()
                migrations.append((name, seconds, try await storedSamples(victoria, startMs: startMs, endMs: endMs)))
            }
        }

        guard let offlineArchive else { throw BenchError("no offline export was made") }
        let samples = try ArchiveDirectory(root: offlineArchive).readManifest().totalSamples
        var blockRuns: [(seconds: Double, rss: Int, bytes: Int)] = []
        for round in 0..<rounds {
            progress("prom-archive blocks \(round + 1)/\(rounds)")
            let out = dir + "/blocks-\(round)"
            let run = try MeasuredRun.run(archivePath, ["blocks", "-q", "--archive", offlineArchive, out], logPath: dir + "/blocks.log")
            blockRuns.append((run.wallSeconds, run.peakRSSBytes, DiskUsage.bytes(under: out)))
            try? FileManager.default.removeItem(atPath: out)
        }
        let prometheusBlockBytes = try FileManager.default.contentsOfDirectory(atPath: data)
            .filter { FileManager.default.fileExists(atPath: data + "/" + $0 + "/meta.json") }
            .reduce(0) { $0 + DiskUsage.bytes(under: data + "/" + $1) }

        print("| \(series) exporter-shaped series × \(hours) h, exported \(rounds) times from each source, alternately "
            + "| samples | samples/s | peak RSS | prom-export CPU | Prometheus CPU | slabs | archive bytes/sample |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for run in exports {
            print("| \(run.name) | \(run.samples) | \(Table.rate(run.samples, run.seconds)) | \(Table.mib(run.rss)) "
                + "| \(String(format: "%.2f s", run.toolCPU)) | \(String(format: "%.2f s", run.serverCPU)) | \(run.slabs) "
                + "| \(Table.perSample(run.bytes, run.samples)) |")
        }
        print("")
        print("| into a fresh VictoriaMetrics 1.79, \(rounds) times each, alternately | wall time | samples/s | samples VictoriaMetrics then holds |")
        print("| --- | --- | --- | --- |")
        for run in migrations {
            print("| \(run.name) | \(String(format: "%.2f s", run.seconds)) | \(Table.rate(samples, run.seconds)) | \(run.stored) |")
        }
        print("")
        print("| prom-archive blocks (2 h blocks) of the \(samples) samples | wall time | samples/s | peak RSS | bytes | bytes/sample |")
        print("| --- | --- | --- | --- | --- | --- |")
        for run in blockRuns {
            print("| ours | \(String(format: "%.2f s", run.seconds)) | \(Table.rate(samples, run.seconds)) | \(Table.mib(run.rss)) "
                + "| \(run.bytes) | \(Table.perSample(run.bytes, samples)) |")
        }
        print("| Prometheus' own blocks of the same samples (promtool, then its compaction) | | | | \(prometheusBlockBytes) "
            + "| \(Table.perSample(prometheusBlockBytes, samples)) |")
    }

    /// The raw samples VictoriaMetrics holds in the range, by `count_over_time`.
    func storedSamples(_ victoria: VictoriaMetricsServer, startMs: Int64, endMs: Int64) async throws -> Int {
        let hours = (endMs - startMs) / 3_600_000 + 1
        let form = "query=sum(count_over_time(%7B__name__%3D~%22.%2B%22%7D%5B\(hours)h%5D))&time=\(Double(endMs) / 1000)"
        let (status, body) = try await HTTPProbe.post(victoria.baseURL + "/api/v1/query", body: Array(form.utf8),
                                                      headers: [("Content-Type", "application/x-www-form-urlencoded")])
        guard status == 200, let data = body.data(using: .utf8),
              let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let result = (json["data"] as? [String: Any])?["result"] as? [[String: Any]],
              let value = (result.first?["value"] as? [Any])?.last as? String, let count = Double(value) else {
            throw BenchError("VictoriaMetrics did not answer the sample count: \(status) \(body.prefix(300))")
        }
        return Int(count)
    }
}
