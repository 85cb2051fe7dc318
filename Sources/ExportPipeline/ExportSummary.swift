/// The final figures of an export run; printed, and written as JSON with `--summary-json`.
public struct ExportSummary: Codable, Sendable, Equatable {
    public var archive: String
    public var source: String
    public var complete: Bool
    public var rangeStartMs: Int64
    public var rangeEndMs: Int64
    /// Slabs and samples written by this run, and the distinct series among them.
    public var slabsWritten: Int
    public var seriesWritten: Int
    public var samplesWritten: Int
    public var bytesWritten: Int
    /// The whole archive after this run.
    public var archiveSlabs: Int
    public var archiveSamples: Int
    public var archiveBytes: Int
    public var archiveBytesPerSample: Double
    /// With `--compact`: the archive's slabs before they were joined (the `archive…` figures are after).
    public var slabsBeforeCompaction: Int?
    public var resumedFromMs: Int64?
    public var retries: Int
    public var slabSplits: Int
    public var concurrency: Int
    /// The most reply data one read held at once (estimated; see `ReadOutcome.peakBufferedBytes`).
    public var peakReadBytes: Int
    public var responseType: String?
    public var wallSeconds: Double
    public var samplesPerSecond: Double
}
