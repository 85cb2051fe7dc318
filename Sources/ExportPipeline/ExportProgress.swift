/// What the pipeline reports while it runs; the command line decides how to show it.
public protocol ExportProgress: Sendable {
    func started(_ state: ExportProgressState)
    func update(_ state: ExportProgressState)
    func retrying(slabStartMs: Int64, attempt: Int, delaySeconds: Double, reason: String)
    func note(_ message: String)
}

/// A snapshot of an export's progress.
public struct ExportProgressState: Sendable {
    public var rangeStartMs: Int64
    public var rangeEndMs: Int64
    /// Where this run started (after the slabs a previous run committed).
    public var runStartMs: Int64
    /// Everything before this point is committed.
    public var committedThroughMs: Int64
    /// Slab reads under way.
    public var readsInFlight: Int
    /// The width the planner cuts slabs at now.
    public var slabWidthMs: Int64
    /// Samples and bytes of this run (committed plus the slab in progress).
    public var samples: Int
    public var bytes: Int
    public var elapsedSeconds: Double
    /// Samples and bytes already in the archive when this run started (resume).
    public var resumedSamples: Int

    public var fractionDone: Double {
        let total = Double(rangeEndMs - rangeStartMs)
        guard total > 0 else { return 1 }
        return min(1, Double(committedThroughMs - rangeStartMs) / total)
    }
}

/// Reports nothing (`--quiet`, tests).
public struct SilentExportProgress: ExportProgress {
    public init() {}
    public func started(_ state: ExportProgressState) {}
    public func update(_ state: ExportProgressState) {}
    public func retrying(slabStartMs: Int64, attempt: Int, delaySeconds: Double, reason: String) {}
    public func note(_ message: String) {}
}
