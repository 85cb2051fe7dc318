public import ArgumentParser
import CommandLineSupport
import FoundationEssentials
import ImportPipeline
import Logging
import PrometheusWire
import RemoteStorageClient

public struct PromImport: AsyncParsableCommand {
    public init() {}

    public static func main() async {
        await runWithOneLineErrors(tool: "prom-import")
    }

    public static let configuration = CommandConfiguration(
        commandName: "prom-import",
        abstract: "Replay a promferry archive to a Prometheus remote-write endpoint.",
        discussion: """
        Checks the manifest and every segment's SHA-256 before sending anything from it, sends remote-write \
        1.0 requests from N parallel senders (each series stays in one sender, in time order), retries \
        transient failures, and journals every acknowledged batch so that re-running the same command \
        resumes where it stopped.

        Exit status: 0 everything delivered (and verified, with --verify); 1 failure; 2 finished, but the \
        target refused some samples (--on-reject isolate; they are in the rejects file); 3 --verify found a \
        difference; 64 a bad command line; 130 interrupted (SIGINT or SIGTERM; re-run to resume).

        Example:
          prom-import --archive ./archive --target-url http://127.0.0.1:8428/api/v1/write
        """,
        version: VersionText.make(tool: "prom-import"))

    @Option(name: [.customShort("a"), .customLong("archive")], help: "The archive directory written by prom-export.")
    var archive: String

    @Option(name: .customLong("target-url"), help: "Remote-write URL, e.g. http://127.0.0.1:8428/api/v1/write (VictoriaMetrics) or http://127.0.0.1:9090/api/v1/write (Prometheus).")
    var targetURL: String?

    @Option(name: .customLong("match"), help: "Replay only series matching this PromQL selector (repeatable).",
            transform: SelectorArgument.parse)
    var match: [SelectorArgument] = []

    @Option(help: "Replay only samples at or after this time (same forms as prom-export).", transform: TimeArgument.parse)
    var start: TimeArgument?

    @Option(help: "Replay only samples before this time.", transform: TimeArgument.parse)
    var end: TimeArgument?

    @Option(name: .customLong("add-label"), help: "Set this label on every series, NAME=VALUE (repeatable), e.g. origin=dc1.",
            transform: LabelPairArgument.parse)
    var addLabel: [LabelPairArgument] = []

    @Option(name: .customLong("drop-label"), help: "Remove this label from every series (repeatable).")
    var dropLabel: [String] = []

    @Option(name: .customLong("shard"), help: ArgumentHelp(
        "Deliver only part I of N of the series (by a fixed hash of their labels as sent), e.g. 0/4: N importers "
        + "with 0/N … N-1/N feed one target in parallel, each series from exactly one of them. Each part keeps its own "
        + "journal (prom-import.shard-I-of-N.state).", valueName: "I/N"), transform: ShardArgument.parse)
    var shard: ShardArgument?

    @Option(name: .customLong("batch-samples"), help: "Samples per write request.")
    var batchSamples = ImportConfiguration.defaultBatchSamples

    static let defaultBatchBytes = try! ByteSizeArgument(parsing: "8MiB")
    @Option(name: .customLong("batch-bytes"), help: .text("Upper bound on a request's size before compression, e.g. 8MiB.", default: Self.defaultBatchBytes),
            transform: ByteSizeArgument.parse)
    var batchBytes = Self.defaultBatchBytes

    @Option(help: "Parallel senders; each series always goes through the same one.")
    var concurrency = ImportConfiguration.defaultConcurrency

    @Option(name: .customLong("on-reject"), help: "When the target refuses samples (HTTP 400/409/422): stop, or isolate them by splitting the request.")
    var onReject: RejectChoice = .stop

    @Option(help: ArgumentHelp("Native histograms: keep (send them; the target must store them, e.g. Prometheus with "
        + "--enable-feature=native-histograms), classic (send each as classic _bucket{le=...}, _count and _sum series, for "
        + "targets without native histograms such as VictoriaMetrics 1.79) or drop (leave them out, counted in the summary)."))
    var histograms: HistogramHandling = .keep

    @Option(name: .customLong("rejects-file"), help: "Where refused samples are listed (default: beside the state file).")
    var rejectsFile: String?

    @Option(help: "Journal of acknowledged batches (default: prom-import.state inside the archive).")
    var state: String?

    @Flag(name: .customLong("skip-corrupt"), help: "Skip corrupt segments (named at the end, exit status 1) instead of stopping at the first.")
    var skipCorrupt = false

    @Option(name: .customLong("rate-limit"), help: "At most this many samples per second.")
    var rateLimit: Double?

    @Flag(name: .customLong("dry-run"), help: "Decode and check everything, send nothing, report what would be sent.")
    var dryRun = false

    @Flag(help: ArgumentHelp("After the import, read the range back through --target-read-url and compare every series: "
        + "bit for bit through remote read; through a VictoriaMetrics /api/v1/export within its storage rules (about 12 "
        + "significant digits, NaN dropped, -0.0 as 0)."))
    var verify = false

    @Option(name: .customLong("target-read-url"), help: ArgumentHelp("Where to read the target back: its remote-read URL, e.g. "
        + "http://127.0.0.1:9090/api/v1/read, or for VictoriaMetrics (no remote read) its export URL, e.g. "
        + "http://127.0.0.1:8428/api/v1/export (cluster: http://vmselect:8481/select/0/prometheus/api/v1/export)."))
    var targetReadURL: String?

    @Option(name: .customLong("progress-metric"),
            help: "Also record progress in the target as this metric, and read it back through --target-read-url on start, so a re-run resumes even without the state file.")
    var progressMetric: String?

    @Flag(name: .customLong("no-state"), help: "Keep no state file (with --progress-metric, the target alone remembers the progress).")
    var noState = false

    @Flag(help: ArgumentHelp("Replay an archive that prom-export is still writing: wait for its manifest and for newly "
        + "committed slabs, and end when the export is complete. The archive is then a durable queue between the two."))
    var follow = false

    static let defaultFollowTimeout = try! DurationArgument(parsing: "10m")
    @Option(name: .customLong("follow-timeout"), help: .text(
        "With --follow: stop when no export holds the archive and its manifest has not grown for this long, e.g. 10m.",
        default: Self.defaultFollowTimeout), transform: DurationArgument.parse)
    var followTimeout = Self.defaultFollowTimeout

    static let defaultMaxMemory = try! ByteSizeArgument(parsing: "256MiB")
    @Option(name: .customLong("max-memory"), help: .text(
        "Memory target, e.g. 256MiB: bounds each request's size to (max-memory - 48MiB) / (concurrency x 11), "
        + "the batches that can be alive at once.", default: Self.defaultMaxMemory), transform: ByteSizeArgument.parse)
    var maxMemory = Self.defaultMaxMemory

    @Option(name: .customLong("max-attempts"), help: "Attempts per request on transient errors before giving up.")
    var maxAttempts = 10

    @OptionGroup(title: "Reporting")
    var reporting: OutputOptions

    @OptionGroup(title: "Object storage (s3:// archives)")
    var objectStorage: S3Options

    @OptionGroup(title: "Target authentication, TLS and timeouts")
    var endpoint: EndpointOptions

    enum RejectChoice: String, ExpressibleByArgument, CaseIterable {
        case stop, isolate
        var policy: RejectPolicy { self == .stop ? .stop : .isolate }
    }

    /// Every rule across options, checked while the command line is parsed (nothing has run yet).
    public func validate() throws { _ = try makeConfiguration() }

    func makeConfiguration() throws -> ImportConfiguration {
        let (startMs, endMs) = (start?.milliseconds, end?.milliseconds)
        if let startMs, let endMs, startMs >= endMs {
            throw ValidationError("--end is not after --start; the range [start, end) would be empty")
        }
        let selectors = match.map(\.selector)
        let added = addLabel.map { Label($0.name, $0.value) }
        for name in dropLabel where name == "__name__" || name.isEmpty {
            throw ValidationError("--drop-label \"\(name)\": only labels other than the metric name can be dropped")
        }
        guard Bounds.batchSamples.contains(batchSamples) else { throw ValidationError("--batch-samples must be 1...100000000") }
        guard Bounds.importConcurrency.contains(concurrency) else { throw ValidationError("--concurrency must be \(Bounds.importConcurrency)") }
        guard Bounds.maxAttempts.contains(maxAttempts) else { throw ValidationError("--max-attempts must be \(Bounds.maxAttempts)") }
        if let rateLimit, !Bounds.rateLimit.contains(rateLimit) {
            throw ValidationError("--rate-limit \(rateLimit) is outside 1...1e12 samples per second")
        }
        let bytes = batchBytes.bytes
        guard bytes >= Bounds.smallestBatchBytes else { throw ValidationError("--batch-bytes \(batchBytes) is below 4KiB") }
        let memoryBytes = maxMemory.bytes
        let leastMemory = ImportConfiguration.baseReserveBytes + concurrency * ImportConfiguration.batchesPerSender * 65536
        guard memoryBytes >= leastMemory else {
            throw ValidationError("--max-memory \(maxMemory) is too small for --concurrency \(concurrency); "
                + "give at least \(ByteSizeExpression.format(leastMemory)) or lower --concurrency")
        }
        if verify && targetReadURL == nil {
            throw ValidationError("--verify needs --target-read-url (the target's remote-read URL, e.g. http://127.0.0.1:9090/api/v1/read, "
                + "or VictoriaMetrics' export URL, e.g. http://127.0.0.1:8428/api/v1/export)")
        }
        if let progressMetric {
            guard let first = progressMetric.first, first.isLetter || first == "_" || first == ":",
                  progressMetric.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }) else {
                throw ValidationError("--progress-metric \(progressMetric) is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
            }
            guard let targetReadURL else {
                throw ValidationError("--progress-metric needs --target-read-url, to read the progress back on start")
            }
            guard !VictoriaMetricsExportClient.isExportURL(targetReadURL) else {
                throw ValidationError("--progress-metric reads its progress back through remote read; --target-read-url "
                    + "\(targetReadURL) is a VictoriaMetrics export URL: drop --progress-metric and keep the state file")
            }
        }
        if noState && progressMetric == nil {
            throw ValidationError("--no-state without --progress-metric could never resume; add --progress-metric NAME --target-read-url URL")
        }
        if noState && state != nil { throw ValidationError("--no-state and --state exclude each other") }
        guard dryRun || targetURL != nil else {
            throw ValidationError("--target-url is required (or --dry-run to only check the archive)")
        }
        let target = try endpoint.endpoint(url: targetURL ?? "http://127.0.0.1/dry-run", flag: "--target-url")
        if let targetReadURL { _ = try endpoint.endpoint(url: targetReadURL, flag: "--target-read-url") }
        var filter: SeriesFilter
        do {
            filter = try SeriesFilter(selectors: selectors, startMs: startMs, endMs: endMs, addLabels: added, dropLabels: Set(dropLabel))
            filter.shard = shard?.shard
        } catch let error as SeriesSelector.ParseError {
            throw ValidationError("--match: \(error.description)")
        }
        filter.histograms = histograms
        let followTimeoutMs = followTimeout.milliseconds
        guard followTimeoutMs >= Bounds.shortestFollowTimeoutMs else { throw ValidationError("--follow-timeout \(followTimeout) is shorter than 1s") }
        return ImportConfiguration(
            archivePath: archive, target: target, filter: filter, batchSamples: batchSamples, batchBytes: bytes,
            concurrency: concurrency, onReject: onReject.policy, rejectsPath: rejectsFile, statePath: state,
            skipCorrupt: skipCorrupt, rateLimit: rateLimit, dryRun: dryRun, retry: RetryPolicy(maxAttempts: maxAttempts),
            verifyURL: verify ? targetReadURL : nil, targetReadURL: targetReadURL, progressMetric: progressMetric,
            noState: noState, follow: follow, followTimeoutSeconds: Double(followTimeoutMs) / 1000, maxMemoryBytes: memoryBytes)
    }

    public func run() async throws {
        reporting.bootstrapLogging()
        InterruptHandling.install(tool: "prom-import")
        let configuration = try makeConfiguration()
        let display = ImportProgressDisplay()
        let pipeline = ImportPipeline(configuration: configuration, progress: reporting.quiet ? SilentImportProgress() : display,
                                      logger: Logger(label: "prom-import"))
        let summary: ImportSummary
        do {
            summary = try await pipeline.run()
        } catch {
            display.finish()
            throw CommandFailure.report(error, tool: "prom-import")
        }
        display.finish()
        try reporting.report(summary, text: ImportSummaryText.render(summary))
        if let verification = summary.verification, !verification.passed { throw ExitCode(CommandFailure.differenceFound) }
        if summary.samplesRejected > 0 { throw ExitCode(2) }
    }
}
