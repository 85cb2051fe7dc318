import ArchiveFormat
import ArchiveTools
public import ArgumentParser
import CommandLineSupport
import ExportPipeline
import FoundationEssentials
import Logging
import PrometheusWire
import RemoteStorageClient

public struct PromExport: AsyncParsableCommand {
    public init() {}

    public static func main() async {
        await runWithOneLineErrors(tool: "prom-export")
    }

    public static let configuration = CommandConfiguration(
        commandName: "prom-export",
        abstract: "Export series from a Prometheus remote-read endpoint, a VictoriaMetrics or TSDB blocks on disk into a zstd segment archive.",
        discussion: """
        Reads [--start, --end) in consecutive slabs; each slab is written to size-bounded segment files and \
        recorded in manifest.json only once complete, with SHA256SUMS beside it. Re-running the same command \
        on the same directory resumes after the last completed slab.

        Exit status: 0 the export is complete; 1 failure (named on stderr; re-run to resume); 64 a bad command \
        line; 130 interrupted (SIGINT or SIGTERM; re-run to resume).

        Example:
          prom-export --source-url http://127.0.0.1:9090/api/v1/read --archive ./archive \\
              --match 'up' --match '{job="node"}' --start -7d --end now
          prom-export --source-vm http://127.0.0.1:8428 --archive ./archive --start -7d --end now
          prom-export --source-tsdb /var/lib/prometheus/snapshots/20261206T101500Z-1a2b --archive ./archive --start 0 --end now
        """,
        version: VersionText.make(tool: "prom-export"))

    @Option(name: .customLong("source-url"), help: "Remote-read URL, e.g. http://127.0.0.1:9090/api/v1/read.")
    var sourceURL: String?

    @Option(name: .customLong("source-vm"), help: ArgumentHelp(
        "Read a VictoriaMetrics instead, through its export API: a single node, e.g. http://127.0.0.1:8428, or a cluster's "
        + "vmselect with the tenant, e.g. http://vmselect:8481/select/0/prometheus (/api/v1/export is added)."))
    var sourceVM: String?

    @Option(name: .customLong("source-tsdb"), help: ArgumentHelp(
        "Read Prometheus TSDB blocks from disk instead, with no server: a data directory, a snapshot directory "
        + "(/api/v1/admin/tsdb/snapshot) or blocks copied from a Thanos or Mimir bucket. Read-only; the WAL is not read.",
        valueName: "dir"))
    var sourceTSDB: String?

    @Option(name: [.customShort("a"), .customLong("archive")],
            help: ArgumentHelp("Archive directory (created if missing; resumed if it holds this export).", valueName: "archive"))
    var archiveFlag: String?

    /// The former spelling of --archive, kept for one release.
    @Option(name: [.customShort("o"), .customLong("output")], help: .hidden)
    var output: String?

    var archive: String { (try? ArchiveFlag.resolve(archiveFlag, alias: output, aliasName: "--output")) ?? "" }

    @Option(name: .customLong("match"),
            help: "PromQL series selector (repeatable), e.g. 'up' or '{job=\"node\"}'. Default: every series.",
            transform: SelectorArgument.parse)
    var match: [SelectorArgument] = []

    @Option(help: "Range start: RFC 3339, Unix seconds or ms, or relative (-30d, now-12h).", transform: TimeArgument.parse)
    var start: TimeArgument

    static let defaultEnd = try! TimeArgument(parsing: "now")
    @Option(help: .text("Range end (exclusive), same forms as --start.", default: Self.defaultEnd), transform: TimeArgument.parse)
    var end = Self.defaultEnd

    static let defaultSlab = try! DurationArgument(parsing: "1h")
    @Option(name: .customLong("slab"), help: .text("Width of the first slab (one read request), and the step by which slabs grow, e.g. 1h, 30m, 1d. "
        + "Without --slab (from remote read or --source-tsdb), the first slabs share the range among the --concurrency reads "
        + "(in whole steps, up to --max-slab).", default: Self.defaultSlab),
            transform: DurationArgument.parse)
    var slabGiven: DurationArgument?
    var slab: DurationArgument { slabGiven ?? Self.defaultSlab }

    static let defaultMaxSlab = try! DurationArgument(parsing: "24h")
    @Option(name: .customLong("max-slab"), help: .text(
        "Widest slab. Slabs grow by --slab while a read holds less than half its share of --max-memory and halve above 80%; "
        + "give the same value as --slab for fixed slabs.", default: Self.defaultMaxSlab), transform: DurationArgument.parse)
    var maxSlab = Self.defaultMaxSlab

    @Option(help: "Slab reads in flight at once (the source must allow as many concurrent reads; Prometheus' default is 10).")
    var concurrency: Int = ExportConfiguration.defaultConcurrency

    static let defaultMaxMemory = try! ByteSizeArgument(parsing: "256MiB")
    @Option(name: .customLong("max-memory"), help: .text(
        "Memory target, e.g. 256MiB. Each read may hold (max-memory - 48MiB) / concurrency - 16MiB of reply data; "
        + "a reply that would hold more is abandoned and read again as two halves.", default: Self.defaultMaxMemory), transform: ByteSizeArgument.parse)
    var maxMemory = Self.defaultMaxMemory

    static let defaultSegmentSize = try! ByteSizeArgument(parsing: "64MiB")
    @Option(name: .customLong("segment-size"), help: .text("Close a segment file once it reaches this size, e.g. 64MiB.", default: Self.defaultSegmentSize),
            transform: ByteSizeArgument.parse)
    var segmentSize = Self.defaultSegmentSize

    @Option(name: .customLong("compression-level"), help: "zstd level for segments (1-19). 3 is about 2.5 times faster than 9 for a 1-2% larger archive; 19 for cold archives.")
    var compressionLevel: Int = 3

    @Option(name: .customLong("drop-label"), help: "Remove this label from every series (repeatable), e.g. an external label.")
    var dropLabel: [String] = []

    @Option(name: .customLong("response-type"), help: "What to ask the source for: auto (chunks, then samples), chunks or samples.")
    var responseType: ResponseTypeChoice = .auto

    @Option(name: .customLong("max-attempts"), help: "Attempts per slab before giving up on transient errors.")
    var maxAttempts: Int = 6

    @Option(name: .customLong("shard"), help: ArgumentHelp(
        "Export only part I of N of the job, e.g. 0/4 (parts counted from 0; how the job is cut: --shard-by), so that N workers "
        + "(a Kubernetes Indexed Job: --shard $(JOB_COMPLETION_INDEX)/N) each write an archive of their part, which prom-archive "
        + "merge joins. Every worker gives the same --start, --end and --slab; the manifest records the whole job and the part.",
        valueName: "I/N"),
            transform: ShardArgument.parse)
    var shard: ShardArgument?

    enum ShardBy: String, ExpressibleByArgument, CaseIterable {
        case time, series
    }

    @Option(name: .customLong("shard-by"), help: ArgumentHelp(
        "How --shard splits the job: time (contiguous parts of the range, of whole --slab slabs) or series (the metric names, listed once through the "
        + "source's /api/v1/label/__name__/values or from the blocks, split by a fixed hash; each part reads the whole range in "
        + "fixed --slab slabs, so that prom-archive merge can join the parts slab by slab)."))
    var shardBy = ShardBy.time

    @Flag(help: ArgumentHelp("When the export is complete, join its slabs into slabs up to --max-slab wide, as prom-archive compact "
        + "does: each series is then stored once per joined slab, which makes archives 3-10% smaller (more, the more slabs). "
        + "It gives the archive a new identity, so a prom-import --follow reading it meanwhile stops."))
    var compact = false

    @Flag(help: ArgumentHelp("On resume, read again from the source the first slab whose segment files are missing or have "
        + "the wrong size, and every slab after it (without it such an archive is refused)."))
    var repair = false

    @OptionGroup(title: "Reporting")
    var reporting: OutputOptions

    @OptionGroup(title: "Object storage (s3:// archives)")
    var objectStorage: S3Options

    @OptionGroup(title: "Source authentication, TLS and timeouts")
    var endpoint: EndpointOptions

    enum ResponseTypeChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, chunks, samples

        var types: [ResponseType] {
            switch self {
            case .auto: [.streamedXORChunks, .samples]
            case .chunks: [.streamedXORChunks]
            case .samples: [.samples]
            }
        }
    }

    /// Every rule across options, checked while the command line is parsed (nothing has run yet).
    public func validate() throws {
        _ = try ArchiveFlag.resolve(archiveFlag, alias: output, aliasName: "--output")
        _ = try makeConfiguration()
    }

    func makeConfiguration() throws -> ExportConfiguration {
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let (startMs, endMs) = (start.milliseconds, end.milliseconds)
        guard startMs < endMs else {
            throw ValidationError("--end (\(end)) is not after --start (\(start)); the range [start, end) would be empty")
        }
        guard startMs >= 0 else { throw ValidationError("--start \(start) is before 1970; Prometheus holds no such data") }
        guard endMs <= nowMs + Bounds.furthestFutureMs else {
            throw ValidationError("--end \(end) is more than a year in the future; check the unit (seconds vs milliseconds)")
        }
        let (slabMs, maxSlabMs) = (slab.milliseconds, maxSlab.milliseconds)
        let (segmentBytes, memoryBytes) = (segmentSize.bytes, maxMemory.bytes)
        guard slabMs >= Bounds.shortestSlabMs else { throw ValidationError("--slab \(slab) is shorter than 1s; use e.g. 1h") }
        guard maxSlabMs >= slabMs else { throw ValidationError("--max-slab \(maxSlab) is shorter than --slab \(slab); give at least --slab") }
        guard Bounds.exportConcurrency.contains(concurrency) else {
            throw ValidationError("--concurrency \(concurrency) is outside \(Bounds.exportConcurrency)")
        }
        let leastMemory = ExportConfiguration.baseReserveBytes + concurrency * (ExportConfiguration.perReadReserveBytes + (1 << 20))
        guard memoryBytes >= leastMemory else {
            throw ValidationError("--max-memory \(maxMemory) is too small for --concurrency \(concurrency); "
                + "give at least \(ByteSizeExpression.format(leastMemory)) or lower --concurrency")
        }
        guard segmentBytes >= Bounds.smallestSegmentBytes else { throw ValidationError("--segment-size \(segmentSize) is below 64KiB") }
        guard Bounds.compressionLevels.contains(compressionLevel) else {
            throw ValidationError("--compression-level \(compressionLevel) is outside 1...19")
        }
        guard Bounds.maxAttempts.contains(maxAttempts) else { throw ValidationError("--max-attempts must be \(Bounds.maxAttempts)") }
        // Each selector was parsed, its regular expressions compiled, with the command line.
        let selectors = match.isEmpty ? [SeriesSelector.everySeries] : match.map(\.selector)
        for name in dropLabel where name.isEmpty || name == "__name__" {
            throw ValidationError("--drop-label \"\(name)\": only labels other than the metric name can be dropped")
        }
        let (url, flag, kind) = try sourceChoice()
        let source: EndpointConfiguration
        if kind == .tsdb {
            if let given = endpoint.connectionOptionsGiven.first {
                throw ValidationError("\(given) applies to a URL source; --source-tsdb reads files and takes no credentials, TLS or headers")
            }
            source = EndpointConfiguration(url: url)
        } else {
            source = try endpoint.endpoint(url: url, flag: flag)
        }
        var (partStartMs, partEndMs) = (startMs, endMs)
        var effectiveMaxSlabMs = maxSlabMs
        if shard == nil && shardBy != .time { throw ValidationError("--shard-by applies to a sharded export; add --shard I/N") }
        if shardBy == .series {
            guard maxSlab.text == Self.defaultMaxSlab.text || maxSlabMs == slabMs else {
                throw ValidationError("--shard-by series reads fixed slabs of --slab, so that the parts' slabs line up for merge; "
                    + "drop --max-slab, or give the same value as --slab")
            }
            effectiveMaxSlabMs = slabMs
        } else if let part = shard?.shard {
            guard let range = Manifest.ShardPart.timeRange(index: part.index, count: part.count, startMs: startMs, endMs: endMs, slabMs: slabMs) else {
                throw ValidationError("--shard \(part): the range holds fewer than \(part.count) slabs of --slab \(slab); give a smaller --slab "
                    + "or fewer parts")
            }
            (partStartMs, partEndMs) = (range.lowerBound, range.upperBound)
        }
        var configuration = ExportConfiguration(
            source: source,
            selectors: selectors, startMs: partStartMs, endMs: partEndMs, startArgument: start.text, endArgument: end.text,
            slabWidthMs: slabMs, maxSlabWidthMs: effectiveMaxSlabMs, concurrency: concurrency, maxMemoryBytes: memoryBytes,
            segmentTargetBytes: segmentBytes, compressionLevel: compressionLevel,
            dropLabels: dropLabel, archivePath: archive, retry: RetryPolicy(maxAttempts: maxAttempts),
            responseTypes: responseType.types)
        configuration.repair = repair
        configuration.sourceKind = kind
        // Blocks are read one series at a time, and a remote read streams its series (a SAMPLES reply that
        // overruns its share of --max-memory is abandoned and read again in halves), so the first slabs
        // need not be narrow; fewer slabs make a smaller archive (`ExportConfiguration.firstSlabWidthMs`).
        configuration.spreadsFirstSlabs = (kind == .tsdb || kind == .remoteRead) && slabGiven == nil
        configuration.shard = shard.map { Manifest.ShardPart(index: $0.shard.index, count: $0.shard.count, by: shardBy.rawValue,
                                                             jobStartMs: startMs, jobEndMs: endMs) }
        do {
            try configuration.checkRangeIsPast(nowMs: nowMs)
        } catch let error as ExportError {
            throw ValidationError(error.message)
        }
        return configuration
    }

    /// The source's URL (for --source-tsdb, the directory's absolute path), the flag that gave it, and
    /// its kind: exactly one of --source-url, --source-vm and --source-tsdb.
    func sourceChoice() throws -> (url: String, flag: String, kind: SourceKind) {
        let given = [("--source-url", sourceURL), ("--source-vm", sourceVM), ("--source-tsdb", sourceTSDB)].filter { $0.1 != nil }
        guard given.count <= 1 else {
            throw ValidationError("\(given.map(\.0).joined(separator: " and ")) exclude each other; give one source")
        }
        if responseType != .auto && sourceURL == nil {
            throw ValidationError("--response-type applies to remote read only (--source-url)")
        }
        if let url = sourceURL {
            if VictoriaMetricsExportClient.isExportURL(url) {
                throw ValidationError("--source-url \(url) is a VictoriaMetrics export URL; give it as --source-vm")
            }
            return (url, "--source-url", .remoteRead)
        }
        if let url = sourceVM {
            var base = url
            while base.hasSuffix("/") { base.removeLast() }
            if base.hasSuffix("/api/v1/read") || base.hasSuffix("/api/v1/write") {
                throw ValidationError("--source-vm \(url) is a remote-read or remote-write URL; give the VictoriaMetrics base URL, "
                    + "e.g. http://127.0.0.1:8428 (or --source-url for a remote-read endpoint)")
            }
            return (VictoriaMetricsExportClient.isExportURL(base) ? base : base + "/api/v1/export", "--source-vm", .victoriaMetrics)
        }
        if let directory = sourceTSDB {
            if directory.contains("://") {
                throw ValidationError("--source-tsdb \(directory) is a URL; it takes a directory on this machine (use --source-url for a server)")
            }
            var isDirectory = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory else {
                throw ValidationError("--source-tsdb \(directory) is not a directory; give a Prometheus data directory, a snapshot "
                    + "directory or a directory of blocks")
            }
            // The manifest records the directory; resuming from another working directory must name the same one.
            let absolute = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
            return (absolute, "--source-tsdb", .tsdb)
        }
        throw ValidationError("give the source: --source-url (remote read, e.g. http://127.0.0.1:9090/api/v1/read), "
            + "--source-vm (VictoriaMetrics, e.g. http://127.0.0.1:8428) or --source-tsdb (blocks on disk, e.g. a snapshot directory)")
    }

    public func run() async throws {
        reporting.bootstrapLogging()
        InterruptHandling.install(tool: "prom-export")
        let configuration = try makeConfiguration()
        if responseType == .samples {
            // Prometheus 2.42 ends a SAMPLES series at its first native histogram and says nothing.
            StandardStreams.writeError("prom-export: warning: in SAMPLES answers Prometheus before 2.44 silently cuts a series "
                + "off at its first native histogram; unless the source holds no histograms, use the default --response-type auto\n")
        }
        let display = ExportProgressDisplay()
        let pipeline = ExportPipeline(configuration: configuration,
                                      progress: reporting.quiet ? SilentExportProgress() : display,
                                      logger: Logger(label: "prom-export"))
        do {
            var summary = try await pipeline.run()
            display.finish()
            if compact && summary.complete { try compactArchive(configuration, &summary) }
            try reporting.report(summary, text: ExportSummaryText.render(summary))
        } catch {
            display.finish()
            throw CommandFailure.report(error, tool: "prom-export")
        }
    }

    /// `--compact`: joins the finished archive's slabs; the summary then describes the archive as compacted.
    func compactArchive(_ configuration: ExportConfiguration, _ summary: inout ExportSummary) throws {
        let options = ArchiveCompaction.Options(maxSlabMs: configuration.maxSlabWidthMs, memoryBytes: configuration.maxMemoryBytes,
                                                compressionLevel: configuration.compressionLevel, createdAt: TimestampText.now())
        let result: ArchiveCompaction.Result
        do {
            result = try ArchiveCompaction.compact(configuration.archivePath, options: options)
        } catch {
            throw ExportError(.compactionFailed, "the export is complete, but --compact failed: \(error); the archive is sound as "
                + "exported (run prom-archive compact on it later)", cause: error)
        }
        summary.slabsBeforeCompaction = result.slabsBefore
        summary.archiveSlabs = result.slabsAfter
        summary.archiveBytes = result.bytesAfter
        summary.archiveBytesPerSample = result.samples > 0 ? Double(result.bytesAfter) / Double(result.samples) : 0
    }
}
