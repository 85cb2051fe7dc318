import ArchiveFormat
import ArchiveStore
import Foundation
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient

/// `--histograms SERIESxHOURS`: native histograms (`HistogramBenchHistory`: 10–160 buckets, resets,
/// schema changes) written into a Prometheus 2.42 through remote write, then exported, and imported
/// into a second one. Prometheus' own size for the same data is that of a snapshot, which writes the
/// head into a block.
extension PromferryBench {
    func histogramBench(series: Int, hours: Int, workspace: TemporaryDirectory) async throws {
        let (startMs, endMs) = recentRange(minutes: hours * 60)
        let dir = workspace.path + "/histograms"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let history = HistogramBenchHistory(seriesCount: series, startMs: startMs, endMs: endMs)
        progress("\(series) histogram series × \(hours) h: generating")
        let data = (0..<series).map(history.series)
        let histograms = data.reduce(0) { $0 + $1.histograms.count }
        let buckets = data.reduce(0) { $0 + $1.histograms.reduce(0) { $0 + $1.counts.positiveBucketCount } }
        let flags = ["--enable-feature=native-histograms", "--web.enable-admin-api"]
        let source = try await PrometheusServer.start(options: .init(extraArguments: flags))
        defer { source.stop() }
        progress("writing \(histograms) histograms into Prometheus through remote write")
        try await RemoteWriteSeeder.writeInTimeOrder(data, to: source.writeURL)
        let tsdbBytes = try await snapshotBytes(source)

        let archive = dir + "/archive"
        progress("exporting")
        let export = try MeasuredRun.run(exportPath, ["--source-url", source.readURL, "--archive", archive, "--start", "\(startMs)",
                                                      "--end", "\(endMs)", "--quiet", "--concurrency", "\(exportConcurrency)",
                                                      "--max-memory", maxMemory], logPath: dir + "/export.log")
        let manifest = try ArchiveDirectory(root: archive).readManifest()
        let archived = manifest.segments.reduce(0) { $0 + ($1.histograms ?? 0) }
        guard archived == histograms else { throw BenchError("the archive holds \(archived) histograms, \(histograms) were written") }

        let target = try await PrometheusServer.start(options: .init(extraArguments: flags))
        defer { target.stop() }
        progress("importing into a second Prometheus")
        let importing = try MeasuredRun.run(importPath, ["--archive", archive, "--target-url", target.writeURL, "--quiet",
                                                         "--concurrency", "\(importConcurrency)", "--max-memory", maxMemory,
                                                         "--state", dir + "/state"], logPath: dir + "/import.log")
        let stored = try await storedHistograms(target.readURL, startMs: startMs, endMs: endMs)
        guard stored == histograms else { throw BenchError("the target holds \(stored) histograms, \(histograms) were imported") }
        print("| \(series) histogram series × \(hours) h: \(histograms) histograms, \(String(format: "%.1f", Double(buckets) / Double(histograms))) buckets each on average | |")
        print("| --- | --- |")
        print("| archive (segment format \(SegmentLayout.formatVersion), zstd 3), bytes/histogram | \(String(format: "%.2f", Double(manifest.totalBytes) / Double(histograms))) |")
        print("| Prometheus TSDB block (snapshot), bytes/histogram | \(String(format: "%.2f", Double(tsdbBytes) / Double(histograms))) |")
        print("| prom-export: histograms/s, peak RSS | \(Table.rate(histograms, export.wallSeconds)), \(Table.mib(export.peakRSSBytes)) |")
        print("| prom-import → Prometheus: histograms/s, peak RSS | \(Table.rate(histograms, importing.wallSeconds)), \(Table.mib(importing.peakRSSBytes)) |")
    }

    /// How many native histograms a Prometheus returns for the range, as streamed chunks.
    private func storedHistograms(_ url: String, startMs: Int64, endMs: Int64) async throws -> Int {
        let client = try RemoteReadClient(endpoint: EndpointConfiguration(url: url))
        var count = 0
        do {
            try await client.read(startMs: startMs, endMs: endMs, matchers: SeriesSelector.everySeries.matchers,
                                  logger: Logger(label: "bench")) { count += $0.histograms.count }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return count
    }

    /// Bytes of the block a snapshot (head included) writes: what Prometheus keeps on disk for the data.
    private func snapshotBytes(_ server: PrometheusServer) async throws -> Int {
        let (status, text) = try await HTTPProbe.post(server.baseURL + "/api/v1/admin/tsdb/snapshot", body: [], headers: [])
        guard status == 200, let data = text.data(using: .utf8),
              let reply = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let name = (reply["data"] as? [String: Any])?["name"] as? String else {
            throw BenchError("snapshot failed: HTTP \(status) \(text)")
        }
        return Disk.blockBytes(server.dataDirectory + "/snapshots/" + name)
    }
}
