import Glibc
import ArchiveTools
public import ArgumentParser
import CommandLineSupport
import FoundationEssentials
import Logging
import PrometheusWire
import TSDBBlocks

public struct PromArchive: AsyncParsableCommand {
    public init() {}

    public static func main() async {
        await runWithOneLineErrors(tool: "prom-archive")
    }

    public static let configuration = CommandConfiguration(
        commandName: "prom-archive",
        abstract: "Work offline on promferry archives: verify, inspect, cat, split, merge, compact, and write TSDB blocks.",
        version: VersionText.make(tool: "prom-archive"),
        subcommands: [Verify.self, Inspect.self, Cat.self, Split.self, Merge.self, Compact.self, Blocks.self])

    /// The offline tools' diagnostics (`--log-level`, `--log-format`); made after logging is set up.
    static var logger: Logger { Logger(label: "prom-archive") }

    static func fail(_ error: any Error) -> ExitCode {
        CommandFailure.report(error, tool: "prom-archive")
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the manifest, every SHA-256 and every segment completely; exit 0 only when all is sound.",
        discussion: """
        Exit status: 0 the archive is sound; 3 a problem was found (each is named), as prom-import --verify \
        exits when the target differs from the archive; 64 a bad command line.
        """)

    @OptionGroup var location: ArchiveArgument

    var archive: String { location.path }

    @OptionGroup(title: "Reporting")
    var reporting: OutputOptions

    @OptionGroup(title: "Object storage (s3:// archives)")
    var objectStorage: S3Options

    func run() throws {
        reporting.bootstrapLogging()
        let report = ArchiveVerifier.verify(archive, logger: PromArchive.logger)
        try reporting.report(report, text: Self.text(report, quiet: reporting.quiet))
        if !report.sound { throw ExitCode(CommandFailure.differenceFound) }
    }

    /// Each problem, each warning (not with --quiet), then the verdict.
    static func text(_ report: ArchiveVerifier.Report, quiet: Bool) -> String {
        var lines = report.errors.map { "BAD      \($0)" }
        if !quiet { lines += report.warnings.map { "warning  \($0)" } }
        lines.append("\(report.sound ? "sound" : "NOT SOUND"): \(report.archive): \(report.segmentsChecked) segments, "
            + "\(report.samplesChecked) samples, \(report.bytesChecked) bytes checked; \(report.errors.count) problems, "
            + "\(report.warnings.count) warnings")
        return lines.joined(separator: "\n")
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the time range, slabs and gaps, series, samples, bytes, top metrics and label cardinalities.")

    @OptionGroup var location: ArchiveArgument

    var archive: String { location.path }

    @OptionGroup(title: "Reporting")
    var reporting: OutputOptions

    @OptionGroup(title: "Object storage (s3:// archives)")
    var objectStorage: S3Options

    @Option(help: "How many metrics and labels to list.")
    var top = 10

    func run() throws {
        reporting.bootstrapLogging()
        let figures: ArchiveInspection
        do { figures = try ArchiveInspector.inspect(archive, top: top) } catch { throw PromArchive.fail(error) }
        PromArchive.logger.info("archive inspected", metadata: [
            "archive": "\(archive)", "slabs": "\(figures.slabs.count)", "series": "\(figures.series)", "samples": "\(figures.samples)"])
        try reporting.report(figures, text: InspectionText.render(figures, top: top, chart: isatty(STDOUT_FILENO) == 1))
    }
}

struct Cat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print samples as OpenMetrics (for promtool tsdb create-blocks-from openmetrics) or JSON lines, streaming.")

    @OptionGroup var location: ArchiveArgument

    var archive: String { location.path }

    @Option(help: "openmetrics or jsonl.")
    var format: ArchiveCat.Format = .openmetrics

    @Option(name: .customLong("match"), help: "Only series matching this PromQL selector (repeatable).", transform: SelectorArgument.parse)
    var match: [SelectorArgument] = []

    @Option(help: "Only samples at or after this time.", transform: TimeArgument.parse)
    var start: TimeArgument?

    @Option(help: "Only samples before this time.", transform: TimeArgument.parse)
    var end: TimeArgument?

    @Option(name: .customLong("stale-markers"),
            help: "OpenMetrics cannot express Prometheus staleness markers: skip them (counted on stderr) or write them as NaN.")
    var staleMarkers: ArchiveCat.StaleMarkers = .skip

    @Option(help: ArgumentHelp("Native histograms: keep (jsonl, the default there), classic (as _bucket{le=...}, _count and _sum "
        + "series, either format) or drop (counted on stderr; the OpenMetrics default, as OpenMetrics text cannot carry them)."))
    var histograms: HistogramHandling?

    @Flag(name: [.short, .long], help: "Print nothing on stderr but errors (not what the output format left out).")
    var quiet = false

    @Option(name: .customLong("summary-json"),
            help: "Also write the counts (records, samples, what was left out or converted) as JSON to this file; stdout carries the samples.")
    var summaryJSON: String?

    @Option(name: .customLong("log-level"), help: "Diagnostics on stderr: debug (each segment written), info (the counts at the end), warning, ….")
    var logLevel: Logger.Level = .warning

    @OptionGroup(title: "Object storage (s3:// archives)")
    var objectStorage: S3Options

    @Option(name: .customLong("log-format"), help: "text, or json: one JSON object per line.")
    var logFormat: LogFormat = .text

    func validate() throws {
        try SummaryOutput.checkWritable(summaryJSON)
        if format == .openmetrics && histograms == .keep {
            throw ValidationError("--histograms keep: OpenMetrics text cannot carry native histograms; use --histograms classic, "
                + "--histograms drop, or --format jsonl")
        }
    }

    func run() throws {
        var filter: SeriesFilter
        do {
            filter = try SeriesFilter(selectors: match.map(\.selector), startMs: start?.milliseconds, endMs: end?.milliseconds)
        } catch let error as SeriesSelector.ParseError {
            throw ValidationError("--match: \(error.description)")
        }
        filter.histograms = histograms ?? (format == .openmetrics ? .drop : .keep)
        CommandFailure.bootstrapLogging(level: logLevel, format: logFormat)
        let counts: ArchiveCat.Counts
        do {
            counts = try ArchiveCat.run(archive, format: format, filter: filter, staleMarkers: staleMarkers, logger: PromArchive.logger) { text in
                StandardStreams.writeOutput(text)
            }
        } catch {
            throw PromArchive.fail(error)
        }
        if let summaryJSON { try SummaryText.writeJSON(counts, to: summaryJSON) }
        if quiet { return }
        if counts.histogramsSkipped > 0 {
            StandardStreams.writeError("prom-archive: skipped \(counts.histogramsSkipped) native-histogram samples"
                + (format == .openmetrics ? ", which OpenMetrics text cannot express (--histograms classic writes them as classic "
                    + "histograms, --format jsonl prints them, prom-import carries them)" : " (--histograms drop)") + "\n")
        }
        if counts.staleMarkersSkipped > 0 {
            StandardStreams.writeError("prom-archive: skipped \(counts.staleMarkersSkipped) staleness markers, which "
                + "OpenMetrics text cannot express (--stale-markers nan writes them as plain NaN)\n")
        }
    }
}

struct Split: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cut an archive into parts of at most --max-bytes, each a valid archive of whole slabs (segments hard-linked or copied).")

    @Option(name: [.customShort("a"), .customLong("archive")], help: ArgumentHelp(ArchiveFlag.help, valueName: "archive"))
    var archiveFlag: String?

    @Option(name: .customLong("max-bytes"), help: "Largest part, e.g. 4GiB or 700MB.", transform: ByteSizeArgument.parse)
    var maxBytes: ByteSizeArgument

    @OptionGroup(title: "Reporting")
    var reporting: OutputOptions

    @OptionGroup(title: "Object storage (s3:// archives)")
    var objectStorage: S3Options

    /// The output directory, after the archive in the former spelling (`split ARCHIVE … OUT_DIR`), kept for one release.
    @Argument(help: ArgumentHelp("An empty or new directory (or s3://BUCKET/PREFIX) for part-001, part-002, …", valueName: "out-directory"))
    var paths: [String] = []

    /// The archive and the output directory, from either spelling.
    func locations() throws -> (archive: String, outDirectory: String) {
        switch (archiveFlag, paths.count) {
        case (let archive?, 1): return (archive, paths[0])
        case (nil, 2): return (try ArchiveFlag.resolve(nil, alias: paths[0], aliasName: "the argument"), paths[1])
        default: throw ValidationError("give the archive with --archive DIR and one output directory, e.g. "
            + "prom-archive split --archive ./archive --max-bytes 4GiB ./parts")
        }
    }

    func validate() throws { _ = try locations() }

    func run() throws {
        let (archive, outDirectory) = try locations()
        do {
            reporting.bootstrapLogging()
            let parts = try ArchiveSplitMerge.split(archive, maxBytes: maxBytes.bytes, into: outDirectory, createdAt: TimestampText.now(),
                                                    logger: PromArchive.logger)
            try reporting.report(SplitResult(archive: archive, parts: parts), text: parts.joined(separator: "\n"))
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw PromArchive.fail(error)
        }
    }
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join archives whose ranges follow each other into one (overlaps and gaps are refused).")

    @Option(name: [.customShort("a"), .customLong("archive")],
            help: ArgumentHelp("An archive to merge (repeatable: two or more).", valueName: "archive"))
    var archives: [String] = []

    @OptionGroup(title: "Reporting")
    var reporting: OutputOptions

    @OptionGroup(title: "Object storage (s3:// archives)")
    var objectStorage: S3Options

    /// The output directory last; in the former spelling (`merge A B OUT_DIR`) the archives before it, kept for one release.
    @Argument(help: ArgumentHelp("The new output directory, or s3://BUCKET/PREFIX (parts in one bucket are copied inside it).", valueName: "out-directory"))
    var paths: [String] = []

    /// The archives and the output directory, from either spelling.
    func locations() throws -> (archives: [String], output: String) {
        let all = archives + paths.dropLast()
        guard let output = paths.last, all.count >= 2, archives.isEmpty || paths.count == 1 else {
            throw ValidationError("give two or more archives with --archive and one output directory, e.g. "
                + "prom-archive merge --archive ./part-001 --archive ./part-002 ./rejoined")
        }
        return (all, output)
    }

    func validate() throws { _ = try locations() }

    func run() throws {
        let (inputs, output) = try locations()
        do {
            reporting.bootstrapLogging()
            try ArchiveSplitMerge.merge(inputs, into: output, createdAt: TimestampText.now(), logger: PromArchive.logger)
            try reporting.report(MergeResult(archives: inputs, output: output), text: output)
        } catch {
            throw PromArchive.fail(error)
        }
    }
}

struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join consecutive slabs into slabs up to --max-slab wide, re-encoded losslessly, so that each series is stored once per slab.",
        discussion: """
        An export cuts its range into slabs; every slab stores each series' labels, first timestamp and first value anew \
        and restarts compression. Joining them makes archives smaller (exporter-shaped data, 24 h exported in 4 slabs: \
        0.497 -> 0.482 bytes/sample; 9 slabs growing from 1 h: 0.544 -> 0.488). Every sample keeps its bits; each segment's \
        SHA-256 is checked as it is read. The new manifest is written only once the new segments are durable, so an \
        interrupted run leaves the archive as it was and a re-run completes the job. The archive gets a new createdAt: \
        an import journal of the old archive is refused, so compact before importing.
        """)

    @OptionGroup var location: ArchiveArgument

    var archive: String { location.path }

    static let defaultMaxSlab = try! DurationArgument(parsing: "24h")
    @Option(name: .customLong("max-slab"), help: .text("Widest slab after joining, e.g. 24h or 7d.", default: Self.defaultMaxSlab), transform: DurationArgument.parse)
    var maxSlab = Self.defaultMaxSlab

    static let defaultMaxMemory = try! ByteSizeArgument(parsing: "256MiB")
    @Option(name: .customLong("max-memory"), help: .text(
        "Slabs joined at once are held decoded in memory (about 32 bytes per sample by the manifest's counts); a run of "
        + "slabs stays within this, e.g. 1GiB.", default: Self.defaultMaxMemory), transform: ByteSizeArgument.parse)
    var maxMemory = Self.defaultMaxMemory

    @Option(name: .customLong("compression-level"), help: "zstd level for the new segments (1-19).")
    var compressionLevel: Int = 3

    @OptionGroup(title: "Reporting")
    var reporting: OutputOptions

    @OptionGroup(title: "Object storage (s3:// archives)")
    var objectStorage: S3Options

    func validate() throws {
        guard maxSlab.milliseconds >= Bounds.shortestSlabMs else { throw ValidationError("--max-slab \(maxSlab) is shorter than 1s; use e.g. 24h") }
        guard Bounds.compressionLevels.contains(compressionLevel) else {
            throw ValidationError("--compression-level \(compressionLevel) is outside 1...19")
        }
    }

    func run() throws {
        let (maxSlabMs, memoryBytes) = (maxSlab.milliseconds, maxMemory.bytes)
        let options = ArchiveCompaction.Options(maxSlabMs: maxSlabMs, memoryBytes: memoryBytes,
                                                compressionLevel: compressionLevel, createdAt: TimestampText.now())
        let result: ArchiveCompaction.Result
        do {
            reporting.bootstrapLogging()
            result = try ArchiveCompaction.compact(archive, options: options, logger: PromArchive.logger) { line in
                if !reporting.quiet && !reporting.json { print(line) }
            }
        } catch {
            throw PromArchive.fail(error)
        }
        let perSample = { (bytes: Int) in result.samples > 0 ? cFormat("%.3f", Double(bytes) / Double(result.samples)) : "0" }
        try reporting.report(result, text: "compacted \(archive): \(result.slabsBefore) slabs into \(result.slabsAfter) "
            + "(\(result.slabsRewritten) rewritten), \(result.bytesBefore) → \(result.bytesAfter) bytes, "
            + "\(perSample(result.bytesBefore)) → \(perSample(result.bytesAfter)) bytes/sample")
    }
}

struct Blocks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the archive as Prometheus TSDB blocks, to backfill Prometheus, Thanos or Mimir without remote write.",
        discussion: """
        Blocks cover windows of --block-duration aligned as Prometheus aligns its own (2h: 00:00, 02:00, … UTC), with \
        index format 2, chunk files and meta.json version 1. Every float keeps its bits (staleness markers included) \
        and every native histogram its kind, layout, buckets and reset hint; start timestamps have no place in \
        Prometheus 2.x chunks and are counted in the summary. Each block is written under NAME.tmp-for-creation and \
        renamed when complete; its name is derived from the archive and its window, so re-running the same command \
        after an interruption skips the finished blocks and writes the rest. The archive must be complete.
        Exit status: 0 done; 1 the archive or the output directory cannot be used (the message says why); 64 a bad command line.
        """)

    @Option(name: [.customShort("a"), .customLong("archive")], help: ArgumentHelp(ArchiveFlag.help, valueName: "archive"))
    var archiveFlag: String?

    static let defaultBlockDuration = try! DurationArgument(parsing: "2h")
    @Option(name: .customLong("block-duration"), help: .text(
        "Time each block covers, aligned to multiples of it since 1970 (Prometheus' own blocks: 2h; larger ones, e.g. 24h, "
        + "suit Thanos and Mimir).", default: Self.defaultBlockDuration), transform: DurationArgument.parse)
    var blockDuration = Self.defaultBlockDuration

    @Option(name: .customLong("thanos-label"), help: ArgumentHelp(
        "Write meta.json's Thanos section with this external label, NAME=VALUE (repeatable), as Thanos and Mimir uploads "
        + "expect; series carrying the same label and value store it there instead.", valueName: "name=value"),
            transform: LabelPairArgument.parse)
    var thanosLabels: [LabelPairArgument] = []

    @Flag(name: .customLong("thanos"), help: "Write the Thanos section even without --thanos-label (no external labels).")
    var thanos = false

    static let defaultMaxMemory = try! ByteSizeArgument(parsing: "256MiB")
    @Option(name: .customLong("max-memory"), help: .text(
        "Samples of chunks not yet full are held (about 64 bytes each) until a block is finished; beyond this they are "
        + "written as shorter chunks.", default: Self.defaultMaxMemory), transform: ByteSizeArgument.parse)
    var maxMemory = Self.defaultMaxMemory

    @OptionGroup(title: "Reporting")
    var reporting: OutputOptions

    @OptionGroup(title: "Object storage (s3:// archives)")
    var objectStorage: S3Options

    @Argument(help: ArgumentHelp("The directory for the blocks (created if missing), e.g. a stopped Prometheus' data directory; or "
                                 + "s3://BUCKET/PREFIX, e.g. a Thanos bucket (each block staged in TMPDIR, uploaded meta.json last).",
                                 valueName: "out-directory"))
    var paths: [String] = []

    /// The archive and the output directory: `--archive DIR OUT_DIR`, or `ARCHIVE OUT_DIR`.
    func locations() throws -> (archive: String, outDirectory: String) {
        switch (archiveFlag, paths.count) {
        case (let archive?, 1): return (try ArchiveFlag.resolve(archive, alias: nil, aliasName: "the argument"), paths[0])
        case (nil, 2): return (try ArchiveFlag.resolve(nil, alias: paths[0], aliasName: "the argument"), paths[1])
        default: throw ValidationError("give the archive with --archive DIR and one output directory, e.g. "
            + "prom-archive blocks --archive ./archive ./blocks")
        }
    }

    func validate() throws {
        _ = try locations()
        guard blockDuration.milliseconds >= 60_000 else {
            throw ValidationError("--block-duration \(blockDuration) is shorter than 1m; Prometheus' own blocks cover 2h")
        }
        guard blockDuration.milliseconds <= 31 * 86_400_000 else {
            throw ValidationError("--block-duration \(blockDuration) is longer than 31d; Thanos and Mimir compact to at most 14d (use e.g. 24h)")
        }
        let day: Int64 = 86_400_000
        guard day % blockDuration.milliseconds == 0 || blockDuration.milliseconds % day == 0 else {
            throw ValidationError("--block-duration \(blockDuration) does not divide a day (nor is it whole days), so blocks would cross "
                + "midnight UTC, which Mimir refuses and compactors never do; use e.g. 1h, 2h, 6h or 24h")
        }
        var seen: [String: String] = [:]
        for label in thanosLabels {
            if let other = seen[label.name], other != label.value {
                throw ValidationError("--thanos-label \(label.name) is given twice (\(other), \(label.value)); give each name once")
            }
            seen[label.name] = label.value
        }
    }

    func run() throws {
        let (archive, outDirectory) = try locations()
        let labels = Dictionary(thanosLabels.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let options = ArchiveBlocks.Options(blockDurationMs: blockDuration.milliseconds,
                                            thanosLabels: thanos || !labels.isEmpty ? labels : nil, memoryBytes: maxMemory.bytes)
        let result: ArchiveBlocks.Result
        do {
            reporting.bootstrapLogging()
            result = try ArchiveBlocks.write(archive, to: outDirectory, options: options, logger: PromArchive.logger) { block in
                if !reporting.quiet && !reporting.json {
                    print("block \(block.ulid)  \(TimestampText.rfc3339(block.minTimeMs)) – \(TimestampText.rfc3339(block.maxTimeMs))  "
                        + "\(block.series) series, \(block.samples) samples, \(block.chunks) chunks, \(block.bytes) bytes")
                }
            }
        } catch {
            throw PromArchive.fail(error)
        }
        var text = "wrote \(result.blocks.count) blocks to \(outDirectory) (\(result.samples) samples)"
        if !result.blocksAlreadyWritten.isEmpty { text += "; \(result.blocksAlreadyWritten.count) written by an earlier run were kept" }
        if result.startTimestampsDropped > 0 {
            text += "\nnote: \(result.startTimestampsDropped) samples carry a start timestamp, which Prometheus 2.x blocks have no place for; "
                + "the blocks hold those samples without it"
        }
        if result.staleMarkerBucketsDropped > 0 {
            text += "\nnote: \(result.staleMarkerBucketsDropped) native-histogram staleness markers carried buckets; blocks keep "
                + "a marker's time and sum only, as Prometheus reads them"
        }
        try reporting.report(result, text: text)
    }
}

/// What `split` and `merge` report with --json and --summary-json.
struct SplitResult: Codable {
    var archive: String
    var parts: [String]
}

struct MergeResult: Codable {
    var archives: [String]
    var output: String
}

extension ArchiveCat.Format: ExpressibleByArgument {}
extension ArchiveCat.StaleMarkers: ExpressibleByArgument {}
