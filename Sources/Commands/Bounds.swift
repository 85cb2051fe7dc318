/// The bounds the command line enforces, each beside the reason it is where it is. Defaults that a
/// measurement chose live with their configuration (`ExportConfiguration`, `ImportConfiguration`).
enum Bounds {
    /// zstd's levels without `--ultra` (which needs far more memory for little gain: level 15 took 5×
    /// level 3's time for 2% less size in the codec benchmark).
    static let compressionLevels = 1...19
    /// A slab, or a compaction's widest slab, narrower than a second would cost a request per scrape.
    static let shortestSlabMs: Int64 = 1000
    /// Reads in flight. 4 was measured best here (README: export concurrency sweep); Prometheus serves
    /// 10 at once by default; beyond 64 a source only queues them.
    static let exportConcurrency = 1...64
    /// Senders. 8 was measured best (import sweep); 256 keeps the journal's per-sender state small.
    static let importConcurrency = 1...256
    /// Attempts per request: 100 attempts at the 30 s backoff cap retry for about 50 minutes.
    static let maxAttempts = 1...100
    /// A segment below 64 KiB holds less than one worthwhile zstd block.
    static let smallestSegmentBytes = 64 << 10
    /// A request below 4 KiB cannot hold a large native histogram with its labels.
    static let smallestBatchBytes = 4096
    /// Samples per request: 100 M samples take 1.6 GB decoded, beyond any sensible --max-memory.
    static let batchSamples = 1...100_000_000
    /// Samples per second of --rate-limit.
    static let rateLimit: ClosedRange<Double> = 1...1e12
    /// An --end further ahead than a year is a unit mistake (seconds read as milliseconds), not a plan.
    static let furthestFutureMs: Int64 = 366 * 86_400_000
    /// A --follow-timeout under a second would trip between two looks at the manifest.
    static let shortestFollowTimeoutMs: Int64 = 1000
}
