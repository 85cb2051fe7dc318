public import PrometheusWire

/// What the import reports while it runs; the command line decides how to show it.
public protocol ImportProgress: Sendable {
    func update(_ state: ImportProgressState)
    func retrying(attempt: Int, delaySeconds: Double, reason: String)
    func rejected(series: Labels, sample: Sample, reason: String)
    func note(_ message: String)
}

public struct ImportProgressState: Sendable {
    public var archiveSamples: Int
    /// Samples decoded so far (this run plus what earlier runs finished).
    public var samplesRead: Int
    public var samplesSent: Int
    public var samplesRejected: Int
    public var retries: Int
    public var elapsedSeconds: Double
    /// Samples already delivered by earlier runs when this one started.
    public var resumedSamples: Int

    public var fractionDone: Double {
        archiveSamples == 0 ? 1 : min(1, Double(samplesRead) / Double(archiveSamples))
    }
}

public struct SilentImportProgress: ImportProgress {
    public init() {}
    public func update(_ state: ImportProgressState) {}
    public func retrying(attempt: Int, delaySeconds: Double, reason: String) {}
    public func rejected(series: Labels, sample: Sample, reason: String) {}
    public func note(_ message: String) {}
}

/// The final figures of an import run; printed, and written as JSON with `--summary-json`.
public struct ImportSummary: Codable, Sendable, Equatable {
    public var archive: String
    public var target: String
    public var dryRun: Bool
    public var complete: Bool
    public var segments: Int
    public var segmentsSkippedCorrupt: [String]
    public var segmentsAlreadyDone: Int
    public var samplesRead: Int
    public var samplesSelected: Int
    public var samplesSent: Int
    public var samplesAlreadyDelivered: Int
    public var samplesRejected: Int
    /// Native-histogram samples left out with `--histograms drop` (absent without it); not in `samplesSelected`.
    public var histogramsDropped: Int?
    /// Native-histogram samples sent as classic series with `--histograms classic` (absent without it);
    /// `samplesSelected` counts the classic samples they became.
    public var histogramsConverted: Int?
    public var batches: Int
    public var requests: Int
    public var retries: Int
    public var splits: Int
    public var rejectsFile: String?
    public var statePath: String?
    public var wallSeconds: Double
    public var samplesPerSecond: Double
    public var verification: VerificationReport?
}
