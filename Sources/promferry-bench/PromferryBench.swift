import ArchiveStore
import ArgumentParser
import CommandLineSupport
import Foundation
import ExportPipeline
import ImportPipeline
import PeerHarness
import PrometheusWire
import ArchiveFormat

/// `scripts/bench`: throughput against floors, bytes per sample, peak memory and codec costs, printed
/// as one table. Release builds of the tools run as child processes against real servers on loopback.
@main
struct PromferryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promferry-bench",
        abstract: "Benchmarks prom-export and prom-import against local Prometheus and VictoriaMetrics servers.")

    @Option(help: "Series × hours (15 s interval) of the data sizes, e.g. 200x24,2000x48.")
    var sizes = "200x24,2000x48"

    @Option(name: .customLong("data-sets"), help: ArgumentHelp(
        "Data sets measured at every size: random (values drawn at random) and exporter (shaped like real scrapes)."))
    var dataSets = "random,exporter"

    @Option(name: .customLong("high-cardinality"), help: "Series in the one-slab high-cardinality run (30 minutes of data); 0 skips it.")
    var highCardinality = 50_000

    @Option(name: .customLong("export-concurrency"), help: "prom-export --concurrency for every run.")
    var exportConcurrency = ExportConfiguration.defaultConcurrency

    @Option(name: .customLong("import-concurrency"), help: "prom-import --concurrency for every run (and the floors).")
    var importConcurrency = ImportConfiguration.defaultConcurrency

    @Option(name: .customLong("max-memory"), help: "--max-memory of both tools.")
    var maxMemory = "256MiB"

    @Flag(name: .customLong("skip-prometheus-import"), help: "Leave out the (slow) imports into Prometheus.")
    var skipPrometheusImport = false

    @Option(name: .customLong("export-concurrency-sweep"), help: ArgumentHelp(
        "Instead of the table, export the first size once per listed --concurrency (e.g. 1,2,4,8) and print samples/s and peak RSS."))
    var exportConcurrencySweep: String?

    @Option(name: .customLong("import-sweep"), help: ArgumentHelp(
        "Instead of the table, export the first size once and import it into a fresh VictoriaMetrics once per listed "
            + "CONCURRENCYxBATCH_SAMPLES (e.g. 4x20000,8x50000); print samples/s, CPU per sample and peak RSS."))
    var importSweep: String?

    @Option(name: .customLong("histograms"), help: ArgumentHelp(
        "Instead of the table, the native-histogram run: SERIESxHOURS of histograms with 10-160 buckets through a Prometheus "
            + "(e.g. 1000x4); prints archive and TSDB bytes per histogram and export and import throughput."))
    var histograms: String?

    @Option(name: .customLong("vm-source"), help: ArgumentHelp(
        "Only the export from VictoriaMetrics (--source-vm) beside the remote-read export from Prometheus, on the same "
        + "exporter-shaped data, e.g. 1000x6 (series × hours)."))
    var vmSource: String?

    @Option(name: .customLong("tsdb"), help: ArgumentHelp(
        "Only the TSDB-block runs on exporter-shaped data, e.g. 1000x24 (series × hours): offline export of a Prometheus data "
        + "directory beside remote read from that Prometheus, vmctl's snapshot import beside export + import, and prom-archive blocks."))
    var tsdb: String?

    @Option(name: .customLong("bucket"), help: ArgumentHelp(
        "Only archives on object storage against local disk on exporter-shaped data, e.g. 1000x24 (series × hours): export "
        + "into a SeaweedFS bucket beside a directory, and import from each into VictoriaMetrics."))
    var bucket: String?

    @Option(name: .customLong("regex"), help: ArgumentHelp(
        "Instead of the table, the label-regex run: LabelRegex against Foundation's NSRegularExpression on the label values "
        + "of this many exporter-shaped series (no servers)."))
    var regex: Int?

    @Flag(name: .customLong("codecs-only"), help: "Only the in-process codec benchmarks, on the first size's data (no servers).")
    var codecsOnly = false

    @Option(help: "Directory holding the release builds of prom-export and prom-import.")
    var tools = ".build/release"

    @Option(name: .customLong("ab-against"), help: ArgumentHelp(
        "Instead of the table: A/B. Export the first size of the first data set with the tools in this directory (A, e.g. "
        + "a release build of the previous commit, with scripts/link-tools) and with --tools (B), alternately, and import "
        + "each archive into a fresh VictoriaMetrics with the same tools; print samples/s and CPU per sample of each run."))
    var abAgainst: String?

    @Option(name: .customLong("ab-rounds"), help: "Rounds of the A/B run (each runs A and B once, in alternating order).")
    var abRounds = 3

    func run() async throws {
        let workspace = try TemporaryDirectory(prefix: "promferry-bench")
        defer { workspace.remove() }
        let table = Table()
        table.note("promferry benchmark: \(Machine.describe()); release builds; Prometheus and VictoriaMetrics on the same machine")
        table.note("export --concurrency \(exportConcurrency), import --concurrency \(importConcurrency), --max-memory \(maxMemory) for both tools")

        let parsed = try Self.pairs(sizes, option: "--sizes", form: "SERIESxHOURS")
        let sets = try DataSet.parseList(dataSets)
        if codecsOnly {
            for set in sets {
                let series = set.series(count: parsed[0].0, startMs: 0, endMs: Int64(parsed[0].1) * 3_600_000)
                table.codecs(try CodecBenchmarks.run(series: series), data: set, samples: series.reduce(0) { $0 + $1.samples.count })
            }
            print(table.text)
            return
        }
        if let regex {
            try regexBench(series: regex)
            return
        }
        if let histograms {
            let size = try Self.pairs(histograms, option: "--histograms", form: "SERIESxHOURS")[0]
            try await histogramBench(series: size.0, hours: size.1, workspace: workspace)
            return
        }
        if let vmSource {
            let size = try Self.pairs(vmSource, option: "--vm-source", form: "SERIESxHOURS")[0]
            try await victoriaMetricsSourceBench(series: size.0, hours: size.1, workspace: workspace)
            return
        }
        if let tsdb {
            let size = try Self.pairs(tsdb, option: "--tsdb", form: "SERIESxHOURS")[0]
            try await tsdbBench(series: size.0, hours: size.1, workspace: workspace)
            return
        }
        if let bucket {
            let size = try Self.pairs(bucket, option: "--bucket", form: "SERIESxHOURS")[0]
            try await bucketBench(series: size.0, hours: size.1, workspace: workspace)
            return
        }
        if let abAgainst {
            try await abRun(a: abAgainst, rounds: abRounds, size: parsed[0], data: sets[0], workspace: workspace)
            return
        }
        if let sweep = exportConcurrencySweep {
            try await sweepExportConcurrency(sweep.split(separator: ",").compactMap { Int($0) }, size: parsed[0], workspace: workspace)
            return
        }
        if let sweep = importSweep {
            let settings = try Self.pairs(sweep, option: "--import-sweep", form: "CONCURRENCYxBATCH_SAMPLES")
            try await sweepImportSettings(settings.map { (concurrency: $0.0, batchSamples: $0.1) }, size: parsed[0], workspace: workspace)
            return
        }
        var results: [SizeResult] = []
        for set in sets {
            for (series, hours) in parsed {
                results.append(try await measureSize(series: series, hours: hours, data: set, workspace: workspace,
                                                     followRun: (series, hours) == parsed.last! && set == sets.first!))
            }
        }
        table.sizes(results, limit: try ByteSizeExpression.parse(maxMemory))
        if highCardinality > 0 {
            table.highCardinality(try await measureHighCardinality(workspace: workspace), limit: try ByteSizeExpression.parse(maxMemory))
        }
        let smallest = parsed.min { $0.0 * $0.1 < $1.0 * $1.1 }!
        for set in sets {
            let series = set.series(count: smallest.0, startMs: 0, endMs: Int64(smallest.1) * 3_600_000)
            table.codecs(try CodecBenchmarks.run(series: series), data: set, samples: series.reduce(0) { $0 + $1.samples.count })
        }
        print(table.text)
    }

    /// `AxB,CxD,…` of positive integers, as `--sizes` and `--import-sweep` take them.
    static func pairs(_ text: String, option: String, form: String) throws -> [(Int, Int)] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { throw ValidationError("\(option) \(text): expected \(form),…") }
            return (parts[0], parts[1])
        }
    }

    var exportPath: String { tools + "/prom-export" }
    var importPath: String { tools + "/prom-import" }

    /// `minutes` of history ending at the start of the previous full hour (inside Prometheus' retention).
    func recentRange(minutes: Int) -> (startMs: Int64, endMs: Int64) {
        let hourMs: Int64 = 3_600_000
        let endMs = (Int64(Date().timeIntervalSince1970 * 1000) / hourMs - 1) * hourMs
        return (endMs - Int64(minutes) * 60_000, endMs)
    }

    func progress(_ line: String) {
        FileHandle.standardError.write(Data(("bench: " + line + "\n").utf8))
    }

    func measureSize(series: Int, hours: Int, data: DataSet, workspace: TemporaryDirectory, followRun: Bool) async throws -> SizeResult {
        let (startMs, endMs) = recentRange(minutes: hours * 60)
        let dir = workspace.path + "/\(data.rawValue)-\(series)x\(hours)"
        let source = try await seededSource(series: series, hours: hours, dir: dir, data: data)
        defer { source.stop() }
        var result = SizeResult(label: "\(data.rawValue) \(series)×\(hours)h")
        result.tsdbBytes = Disk.blockBytes(source.dataDirectory)

        progress("exporting")
        let archive = dir + "/archive"
        let exportArguments = ["--source-url", source.readURL, "--start", "\(startMs)", "--end", "\(endMs)", "--quiet",
                               "--concurrency", "\(exportConcurrency)", "--max-memory", maxMemory]
        let export = try MeasuredRun.run(exportPath, exportArguments + ["--archive", archive], logPath: dir + "/export.log")
        let manifest = try ArchiveDirectory(root: archive).readManifest()
        result.samples = manifest.totalSamples
        result.archiveBytes = manifest.totalBytes
        result.export = export
        progress("export floor: the same \(manifest.slabs.count) requests, read and thrown away")
        result.exportFloorSeconds = try await Floors.exportFloor(
            readURL: source.readURL, slabs: manifest.slabs.map { ($0.startMs, $0.endMs) }, concurrency: exportConcurrency)

        progress("prom-archive compact: joining the \(manifest.slabs.count) slabs")
        result.compact = try MeasuredRun.run(tools + "/prom-archive", ["compact", archive, "--max-memory", maxMemory],
                                             logPath: dir + "/compact.log")
        result.compactedBytes = try ArchiveDirectory(root: archive).readManifest().totalBytes

        let requests = try Floors.encodeWriteRequests(archive: archive, batchSamples: ImportConfiguration.defaultBatchSamples)
        let importArguments = ["--archive", archive, "--quiet", "--concurrency", "\(importConcurrency)", "--max-memory", maxMemory]
        do {
            progress("importing into VictoriaMetrics")
            let victoria = try await VictoriaMetricsServer.start()
            do {
                let before = victoria.cpuSeconds
                result.importVictoria = try MeasuredRun.run(importPath, importArguments + ["--target-url", victoria.writeURL,
                                                            "--state", dir + "/vm.state"], logPath: dir + "/import-vm.log")
                result.victoriaImportCPUSeconds = victoria.cpuSeconds - before
            } catch {
                victoria.stop()
                throw error
            }
            result.victoriaBytes = victoria.stopMeasuringDisk()
        }
        do {
            progress("floor: \(requests.count) pre-encoded requests into a fresh VictoriaMetrics")
            let victoria = try await VictoriaMetricsServer.start()
            defer { victoria.stop() }
            let before = victoria.cpuSeconds
            result.victoriaFloorSeconds = try await Floors.post(requests, to: victoria.writeURL, concurrency: importConcurrency,
                                                                headers: Floors.writeHeaders)
            result.victoriaFloorCPUSeconds = victoria.cpuSeconds - before
        }
        if !skipPrometheusImport {
            do {
                progress("importing into Prometheus")
                let target = try await PrometheusServer.start()
                defer { target.stop() }
                result.importPrometheus = try MeasuredRun.run(importPath, importArguments + ["--target-url", target.writeURL,
                                                              "--state", dir + "/prom.state"], logPath: dir + "/import-prom.log")
            }
            do {
                progress("floor: pre-encoded requests into a fresh Prometheus")
                let target = try await PrometheusServer.start()
                defer { target.stop() }
                result.prometheusFloorSeconds = try await Floors.post(requests, to: target.writeURL, concurrency: importConcurrency,
                                                                      headers: Floors.writeHeaders)
            }
        }
        if followRun {
            progress("export | import --follow into VictoriaMetrics, together")
            let victoria = try await VictoriaMetricsServer.start()
            defer { victoria.stop() }
            let followed = dir + "/followed"
            let began = ContinuousClock.now
            async let exporting = Task.detached { [exportPath] in
                try MeasuredRun.run(exportPath, exportArguments + ["--archive", followed], logPath: dir + "/follow-export.log")
            }.value
            async let importing = Task.detached { [importPath] in
                try MeasuredRun.run(importPath, ["--archive", followed, "--quiet", "--follow", "--concurrency", "\(importConcurrency)",
                                                 "--max-memory", maxMemory, "--target-url", victoria.writeURL,
                                                 "--state", dir + "/follow.state"], logPath: dir + "/follow-import.log")
            }.value
            _ = try await (exporting, importing)
            let wall = ContinuousClock.now - began
            result.followSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        }
        return result
    }

    func measureHighCardinality(workspace: TemporaryDirectory) async throws -> [(String, MeasuredRun, Int)] {
        let (startMs, endMs) = recentRange(minutes: 30)
        let history = SampleHistory(seriesCount: highCardinality, startMs: startMs, endMs: endMs)
        let dir = workspace.path + "/high-cardinality"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        progress("\(highCardinality) series × 30 min in one slab: generating and loading with promtool")
        try history.writeOpenMetrics(to: dir + "/history.om")
        let source = try await PrometheusServer.start(openMetricsFile: dir + "/history.om",
                                                      options: .init(extraArguments: ["--storage.remote.read-sample-limit=0"]))
        defer { source.stop() }
        var runs: [(String, MeasuredRun, Int)] = []
        for type in ["chunks", "samples"] {
            progress("high cardinality: exporting (\(type))")
            let archive = dir + "/archive-\(type)"
            let run = try MeasuredRun.run(exportPath, ["--source-url", source.readURL, "--archive", archive, "--start", "\(startMs)",
                                                       "--end", "\(endMs)", "--slab", "1h", "--max-slab", "1h", "--quiet",
                                                       "--response-type", type, "--concurrency", "\(exportConcurrency)",
                                                       "--max-memory", maxMemory], logPath: dir + "/export-\(type).log")
            let manifest = try ArchiveDirectory(root: archive).readManifest()
            runs.append(("prom-export, \(type), \(manifest.slabs.count) slab(s)", run, manifest.totalSamples))
        }
        progress("high cardinality: importing into VictoriaMetrics")
        let victoria = try await VictoriaMetricsServer.start()
        defer { victoria.stop() }
        let archive = dir + "/archive-chunks"
        let samples = try ArchiveDirectory(root: archive).readManifest().totalSamples
        let run = try MeasuredRun.run(importPath, ["--archive", archive, "--target-url", victoria.writeURL, "--quiet",
                                                   "--concurrency", "\(importConcurrency)", "--max-memory", maxMemory,
                                                   "--state", dir + "/vm.state"], logPath: dir + "/import.log")
        runs.append(("prom-import → VictoriaMetrics", run, samples))
        return runs
    }
}

/// Figures of one data size.
struct SizeResult {
    let label: String
    var samples = 0
    /// The archive as prom-export wrote it, and after `prom-archive compact` (which the imports then read).
    var archiveBytes = 0
    var compactedBytes = 0
    var compact: MeasuredRun?
    var tsdbBytes = 0
    var victoriaBytes = 0
    var export: MeasuredRun?
    var exportFloorSeconds = 0.0
    var importVictoria: MeasuredRun?
    var victoriaFloorSeconds = 0.0
    /// VictoriaMetrics' own CPU time while it ingested the import, and while it ingested the floor's requests.
    var victoriaImportCPUSeconds = 0.0
    var victoriaFloorCPUSeconds = 0.0
    var importPrometheus: MeasuredRun?
    var prometheusFloorSeconds = 0.0
    var followSeconds: Double?
}

enum Disk {
    /// Bytes of a Prometheus data directory's blocks (the ULID-named folders), without WAL and head.
    static func blockBytes(_ path: String) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return entries.filter { $0.count == 26 }.reduce(0) { $0 + DiskUsage.bytes(under: path + "/" + $1) }
    }
}

enum Machine {
    static func describe() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let kib = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal") }?
            .split(separator: " ").compactMap { Int($0) }.first ?? 0
        return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(kib / 1_048_576) GiB"
    }
}
