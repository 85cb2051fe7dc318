
public import PrometheusWire
public import RemoteStorageClient

/// What to do when the target refuses samples (HTTP 400/409/422).
public enum RejectPolicy: String, Sendable, CaseIterable {
    /// Stop at the first refusal, with the target's own message.
    case stop
    /// Split the refused batch until the refused samples are isolated; deliver every other sample,
    /// write the refused ones to the rejects file and count them.
    case isolate
}

/// Everything one import run needs, already validated by the command line layer.
public struct ImportConfiguration: Sendable {
    public var archivePath: String
    public var target: EndpointConfiguration
    public var filter: SeriesFilter
    public var batchSamples: Int
    /// Upper bound on a request's encoded size before compression.
    public var batchBytes: Int
    public var concurrency: Int
    public var onReject: RejectPolicy
    /// Where refused samples are written (JSON lines); defaults beside the state file.
    public var rejectsPath: String?
    /// The journal; nil means `prom-import.state` inside the archive.
    public var statePath: String?
    public var skipCorrupt: Bool
    /// Samples per second, or nil for no limit.
    public var rateLimit: Double?
    public var dryRun: Bool
    public var retry: RetryPolicy
    /// A remote-read URL of the target to read the imported data back from, or nil.
    public var verifyURL: String?
    /// When the read-back differs, how long to wait before reading everything back once more.
    public var verifyRecheckSeconds = 10.0
    /// Stateless resume: write progress into the target as this metric, and read it back from
    /// `targetReadURL` on start.
    public var progressMetric: String?
    public var targetReadURL: String?
    /// Keep no journal (with `progressMetric`, the target alone remembers the progress).
    public var noState = false
    /// Replay an archive that an export is still writing: wait for its manifest and for newly
    /// committed slabs, and end when the manifest says the export is complete.
    public var follow = false
    /// How often a following import looks at the manifest.
    public var followPollSeconds = 0.5
    /// How long a following import waits while no writer holds the archive's lock and the manifest
    /// does not grow (the export was killed, or the path has a typo) before it stops.
    public var followTimeoutSeconds = ImportConfiguration.defaultFollowTimeoutSeconds
    /// 10 minutes: longer than a restarted export takes to begin again, short enough that a dead one is noticed.
    public static let defaultFollowTimeoutSeconds = 600.0
    /// Memory target of the whole process (`--max-memory`); it bounds the size of a batch.
    public var maxMemoryBytes = ImportConfiguration.defaultMaxMemoryBytes

    public static let defaultMaxMemoryBytes = 256 << 20
    /// Samples per request and parallel senders, from `scripts/bench --import-sweep` into VictoriaMetrics
    /// (23 M samples, means of 2–10 runs each; README → Performance): 8 × 30000 moved 2.33 M samples/s
    /// and 8 × 50000 2.29, against 1.98 for the former 4 × 20000 and 2.15 for 8 × 20000; larger batches
    /// also cost the tool about 10% less CPU per sample. More senders or 80000 were no faster, and
    /// peak RSS grows with both (141 MiB at 8 × 30000, 223 MiB at 8 × 80000).
    public static let defaultBatchSamples = 30_000
    public static let defaultConcurrency = 8
    /// Memory besides the batches: runtime, HTTP client, one decoded segment block.
    public static let baseReserveBytes = 48 << 20
    /// Batches queued ahead of each sender. The reader cuts batches in archive order and waits when the
    /// next one's sender is full; with 2, one slow request stalled the other senders (measured: 8
    /// queued made an import into VictoriaMetrics about 20% faster, 16 no faster than 8).
    public static let queuedBatchesPerSender = 8
    /// Batches alive per sender: the queued ones, one being cut, one in flight (with its encoded and
    /// compressed copies, counted as one more).
    public static let batchesPerSender = queuedBatchesPerSender + 3

    /// The batch size bound that keeps every batch alive at once inside `maxMemoryBytes`.
    public var effectiveBatchBytes: Int {
        let room = (maxMemoryBytes - Self.baseReserveBytes) / (concurrency * Self.batchesPerSender)
        return max(4096, min(batchBytes, room))
    }

    public init(archivePath: String, target: EndpointConfiguration, filter: SeriesFilter = .all,
                batchSamples: Int = ImportConfiguration.defaultBatchSamples, batchBytes: Int = 8 << 20, concurrency: Int = ImportConfiguration.defaultConcurrency, onReject: RejectPolicy = .stop,
                rejectsPath: String? = nil, statePath: String? = nil, skipCorrupt: Bool = false, rateLimit: Double? = nil,
                dryRun: Bool = false, retry: RetryPolicy = RetryPolicy(maxAttempts: 10), verifyURL: String? = nil,
                targetReadURL: String? = nil, progressMetric: String? = nil, noState: Bool = false, follow: Bool = false,
                followTimeoutSeconds: Double = ImportConfiguration.defaultFollowTimeoutSeconds,
                maxMemoryBytes: Int = ImportConfiguration.defaultMaxMemoryBytes) {
        self.archivePath = archivePath
        self.target = target
        self.filter = filter
        self.batchSamples = batchSamples
        self.batchBytes = batchBytes
        self.concurrency = concurrency
        self.onReject = onReject
        self.rejectsPath = rejectsPath
        self.statePath = statePath
        self.skipCorrupt = skipCorrupt
        self.rateLimit = rateLimit
        self.dryRun = dryRun
        self.retry = retry
        self.verifyURL = verifyURL
        self.targetReadURL = targetReadURL
        self.progressMetric = progressMetric
        self.noState = noState
        self.follow = follow
        self.followTimeoutSeconds = followTimeoutSeconds
        self.maxMemoryBytes = maxMemoryBytes
    }
}

/// An import that cannot go on, with what to do about it.
public struct ImportError: Error, CausedError, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        case rejected
        case gaveUp
        case corruptSegments
        case stateMismatch
        case stateNotWritable
        case verificationFailed
        case archiveChanged
        case followTimedOut
        /// `--histograms classic` met a histogram that has no classic form.
        case unconvertible
    }

    public let code: Code
    public let message: String
    /// The error this one was made from, kept for diagnostics.
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause as? any Error & Sendable
    }

    public var description: String { message }
}
