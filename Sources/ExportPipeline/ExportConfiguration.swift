public import ArchiveFormat
public import PrometheusWire
public import RemoteStorageClient

/// Everything one export run needs, already validated by the command line layer.
public struct ExportConfiguration: Sendable {
    public var source: EndpointConfiguration
    /// How `source` is read: remote read, or VictoriaMetrics' export API.
    public var sourceKind = SourceKind.remoteRead
    /// Each selector is read separately; a series matched by several is exported once.
    public var selectors: [SeriesSelector]
    /// Half-open range.
    public var startMs: Int64
    public var endMs: Int64
    /// The arguments as typed, recorded so that relative ranges resume (see `Manifest.Selection`).
    public var startArgument: String
    public var endArgument: String
    /// Width of the first slab (unless `spreadsFirstSlabs`), and the step by which slabs grow (`SlabSizer`).
    public var slabWidthMs: Int64
    /// The first slabs share the range among the reads in flight instead of starting at `slabWidthMs`
    /// (see `firstSlabWidthMs`). For sources whose reads hold about the same memory whatever their
    /// width: TSDB blocks on disk, read one series at a time, and remote reads, whose STREAMED_XOR_CHUNKS
    /// replies hold one series at a time (a SAMPLES reply that overruns its budget is abandoned, and the
    /// sizer halves the slabs from there).
    public var spreadsFirstSlabs = false
    /// Widest slab the sizer may choose; equal to `slabWidthMs` for fixed slabs.
    public var maxSlabWidthMs: Int64
    /// Slab reads in flight at once; their slabs are committed to the manifest in order.
    public var concurrency: Int
    /// Memory target of the whole process (`--max-memory`), shared among the reads in flight.
    public var maxMemoryBytes: Int
    public var segmentTargetBytes: Int
    public var compressionLevel: Int
    public var dropLabels: [String]
    public var archivePath: String
    public var retry: RetryPolicy
    public var responseTypes: [ResponseType]
    /// On resume, read again the first slab whose segment files are missing or have the wrong size,
    /// and every slab after it; without it such an archive is refused.
    public var repair = false
    /// `--shard I/N`: this export is that part of a job; `startMs`/`endMs` are the part's range. Recorded
    /// in the manifest, and a resume must give the same.
    public var shard: Manifest.ShardPart?

    public init(source: EndpointConfiguration, selectors: [SeriesSelector], startMs: Int64, endMs: Int64,
                startArgument: String, endArgument: String, slabWidthMs: Int64 = 3_600_000, maxSlabWidthMs: Int64? = nil,
                concurrency: Int = 1, maxMemoryBytes: Int = ExportConfiguration.defaultMaxMemoryBytes,
                segmentTargetBytes: Int = 64 << 20, compressionLevel: Int = 3, dropLabels: [String] = [],
                archivePath: String, retry: RetryPolicy = RetryPolicy(),
                responseTypes: [ResponseType] = [.streamedXORChunks, .samples]) {
        self.source = source
        self.selectors = selectors
        self.startMs = startMs
        self.endMs = endMs
        self.startArgument = startArgument
        self.endArgument = endArgument
        self.slabWidthMs = slabWidthMs
        self.maxSlabWidthMs = max(slabWidthMs, maxSlabWidthMs ?? slabWidthMs)
        self.concurrency = max(1, concurrency)
        self.maxMemoryBytes = maxMemoryBytes
        self.segmentTargetBytes = segmentTargetBytes
        self.compressionLevel = compressionLevel
        self.dropLabels = dropLabels
        self.archivePath = archivePath
        self.retry = retry
        self.responseTypes = responseTypes
    }

    /// Width of the slabs planned before any read has been observed: `slabWidthMs`; with
    /// `spreadsFirstSlabs`, the range divided by `concurrency`, rounded up to whole `slabWidthMs`
    /// and at most `maxSlabWidthMs` (so 48 h from 4 reads is 4 slabs of 12 h, and a month is read in
    /// slabs of `maxSlabWidthMs` from the start). Fewer, wider slabs store each series fewer times
    /// and keep every core busy to the end: measured on 2000 series × 48 h of blocks, 4 slabs of
    /// 12 h instead of 12 slabs from 1 h to 9 h made the offline export 1.25× faster and its
    /// archive 4% smaller.
    public var firstSlabWidthMs: Int64 {
        guard spreadsFirstSlabs else { return slabWidthMs }
        let share = min((endMs - startMs) / Int64(concurrency), maxSlabWidthMs)
        let rounded = (share / slabWidthMs + (share % slabWidthMs == 0 ? 0 : 1)) * slabWidthMs
        return max(slabWidthMs, min(rounded, maxSlabWidthMs))
    }

    public static let defaultMaxMemoryBytes = 256 << 20
    /// Chosen by measurement (`scripts/bench --export-concurrency-sweep`, 1000 series × 24 h from a
    /// local Prometheus, 2 cores): 1 → 5.5 M samples/s; 2 → 6.7–8.6; 3 → 6.5–8.9; 4 → 7.2–10.8;
    /// 5 → 6.7; 6 → 10.4; 8 → 6.2. Four reads in flight hide the source's latency without
    /// splitting --max-memory into small budgets.
    public static let defaultConcurrency = 4

    /// Memory the process needs besides the replies: runtime, HTTP client, and per read a zstd
    /// context and the block being compressed. Measured with `scripts/bench` (peak RSS).
    public static let baseReserveBytes = 48 << 20
    public static let perReadReserveBytes = 16 << 20

    /// Reply bytes one read may hold: what `--max-memory` leaves after the reserves, shared equally
    /// among the reads in flight; at least 1 MiB.
    public var readBudgetBytes: Int { readBudgetBytes(readsInFlight: concurrency) }

    /// The same with `readsInFlight` reads (the export narrows to fewer reads for SAMPLES sources).
    /// `readsInFlight × readBudgetBytes(readsInFlight:)` never grows as `readsInFlight` falls, so reads
    /// started under a smaller share never push the total past `--max-memory`.
    public func readBudgetBytes(readsInFlight: Int) -> Int {
        max(1 << 20, (maxMemoryBytes - Self.baseReserveBytes) / max(1, readsInFlight) - Self.perReadReserveBytes)
    }
}

extension ExportConfiguration {
    /// A slab is committed as complete once read, so a range reaching past the present would be
    /// recorded as exported while its future part was never read, and a re-run would skip it. The
    /// pipeline refuses such a range before anything is touched; commands check it at parse time.
    public func checkRangeIsPast(nowMs: Int64) throws {
        guard endMs > nowMs else { return }
        throw ExportError(.rangeInFuture, "--end \(endArgument) is \(ExportPipeline.timestamp(ms: endMs)), "
            + "\(DurationText.rough(ms: endMs - nowMs)) from now; the source cannot hold those samples yet, and "
            + "slabs read now would be recorded as complete without them. Export up to --end now, and the rest later into "
            + "another archive once that time has passed")
    }
}
