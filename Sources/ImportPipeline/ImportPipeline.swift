import ArchiveFormat
import ArchiveStore

import FoundationEssentials
public import Logging
import PrometheusWire
public import RemoteStorageClient
import Synchronization

/// `archive → segment reader → batcher → remote-write client → target`.
///
/// Each segment's SHA-256 is checked before anything from it is sent. Batches are cut per series
/// shard, so one sender carries all of a series' samples in order while N senders run in parallel.
/// Every acknowledged batch is journalled durably; a re-run skips what the journal holds.
public struct ImportPipeline: Sendable {
    public let configuration: ImportConfiguration
    public let progress: any ImportProgress
    public let logger: Logger

    public init(configuration: ImportConfiguration, progress: any ImportProgress = SilentImportProgress(), logger: Logger) {
        self.configuration = configuration
        self.progress = progress
        self.logger = logger
    }


    /// Runs the import. Its journal is closed (its lock released) before this returns or throws.
    public func run() async throws -> ImportSummary {
        let opened = OpenedJournal()
        do {
            let summary = try await run(keepingJournalIn: opened)
            await opened.journal?.close()
            return summary
        } catch {
            await opened.journal?.close()
            throw error
        }
    }

    /// The journal a run opened, so that `run()` closes it however the run ends.
    private final class OpenedJournal: @unchecked Sendable {
        var journal: ImportJournal?
    }

    private func run(keepingJournalIn opened: OpenedJournal) async throws -> ImportSummary {
        let began = ContinuousClock.now
        let archive = ArchiveDirectory(root: configuration.archivePath)
        let initial = try await firstManifest(of: archive)
        if !initial.complete {
            progress.note(configuration.follow
                ? "following \(archive.root): \(initial.slabs.count) slabs committed so far; importing them while the export writes more"
                : "the archive is not complete (its export stopped or is still running); importing its "
                    + "\(initial.slabs.count) completed slabs (--follow waits for the rest)")
        }
        let counters = ImportCounters()
        let shard = configuration.filter.shard
        // Beside the manifest in a directory; for a bucket archive in the working directory, named for the bucket and prefix
        // (the journal is appended and fsynced per batch, which an object cannot be).
        let local = archive.location is LocalDirectory
        func beside(_ name: String) -> String {
            local ? archive.path(of: name) : String(archive.root.dropFirst(5)).replacing("/", with: "_") + "." + name
        }
        let statePath = configuration.statePath ?? beside(ArchiveNaming.importStateFile(shard: shard))
        let rejectsPath = configuration.rejectsPath
            ?? (configuration.statePath.map { $0 + ".rejects.jsonl" } ?? beside(ArchiveNaming.importRejectsFile(shard: shard)))
        if !local && configuration.statePath == nil && !configuration.noState && !configuration.dryRun {
            progress.note("keeping the import's progress in \(statePath) (in the working directory; --state FILE to choose)")
        }

        var journal: ImportJournal?
        var client: RemoteWriteClient?
        let metric = configuration.progressMetric.map {
            ProgressMetric(name: $0, manifestCreatedAt: initial.createdAt, source: initial.source.url,
                           target: configuration.target.redactedURL, filter: configuration.filter.description)
        }
        if !configuration.dryRun {
            journal = try openJournal(statePath: statePath, manifest: initial)
            opened.journal = journal
            if let metric, let readURL = configuration.targetReadURL {
                let done = try await metric.read(from: configuration.target.with(url: readURL), logger: logger)
                if done > 0 {
                    await journal!.adoptLeadingSegmentsDone(min(done, initial.segments.count))
                    progress.note("the target's \(metric.name){\(ProgressMetric.idLabel)=\"\(metric.id)\"} says \(done) segments were delivered")
                }
            }
            let writer = try RemoteWriteClient(endpoint: configuration.target)
            client = writer
            do {
                try await writer.checkReachable()
                if initial.holdsHistograms && configuration.filter.histograms == .keep { try await writer.checkKeepsHistograms(logger: logger) }
            } catch {
                try? await writer.shutdown()
                throw error
            }
        }
        let shards = journal?.header.concurrency ?? configuration.concurrency
        let batchSamples = journal?.header.batchSamples ?? configuration.batchSamples
        let batchBytes = journal?.header.batchBytes ?? configuration.effectiveBatchBytes
        if let journal, await journal.resumed {
            let done = await journal.doneSegments.count
            progress.note("resuming the import recorded in \(statePath): \(done) of \(initial.segments.count) segments already delivered")
            logger.info("import resumed", metadata: ["state": "\(statePath)", "segments.done": "\(done)",
                                                     "segments": "\(initial.segments.count)"])
        } else {
            logger.info("import started", metadata: ["archive": "\(archive.root)", "target": "\(configuration.target.redactedURL)",
                                                     "segments": "\(initial.segments.count)", "senders": "\(shards)",
                                                     "batch.samples": "\(batchSamples)", "batch.bytes": "\(batchBytes)"])
        }

        let skipped = SkippedSegments()
        let latest = LatestManifest(initial)
        do {
            let report: @Sendable () -> Void = { [progress] in
                let v = counters.snapshot
                progress.update(ImportProgressState(
                    archiveSamples: latest.value.totalSamples, samplesRead: v.samplesRead, samplesSent: v.samplesSent,
                    samplesRejected: v.samplesRejected, retries: v.retries,
                    elapsedSeconds: ImportPipeline.seconds(ContinuousClock.now - began), resumedSamples: v.samplesAlreadyDelivered))
            }
            let run = ImportRun(configuration: configuration, progress: progress, logger: logger, journal: journal,
                                queues: (0..<shards).map { _ in BoundedQueue<Batch>(capacity: ImportConfiguration.queuedBatchesPerSender) },
                                batchSamples: batchSamples, batchBytes: batchBytes, counters: counters, skipped: skipped,
                                stop: FirstError(), deliveries: DeliveryBarrier(), report: report)
            try await transfer(run, latest: latest, client: client, metric: metric, rejectsPath: rejectsPath)
        } catch {
            try? await client?.shutdown()
            throw error
        }
        try await client?.shutdown()

        let manifest = latest.value
        let corrupt = await skipped.names
        let complete = manifest.complete && corrupt.isEmpty
        if complete, let journal { try await journal.markComplete() }
        var verification: VerificationReport?
        if let verifyURL = configuration.verifyURL, !configuration.dryRun {
            progress.note("verifying: reading the imported range back from \(URLRedaction.redact(verifyURL))")
            let readEndpoint = configuration.target.with(url: verifyURL)
            if VictoriaMetricsExportClient.isExportURL(verifyURL) {
                verification = try await VictoriaMetricsVerifier(archive: archive, manifest: manifest, filter: configuration.filter,
                                                                 readEndpoint: readEndpoint, retry: configuration.retry, progress: progress,
                                                                 recheckDelaySeconds: configuration.verifyRecheckSeconds, logger: logger).run()
            } else {
                verification = try await TargetVerifier(archive: archive, manifest: manifest, filter: configuration.filter,
                                                        readEndpoint: readEndpoint, retry: configuration.retry,
                                                        progress: progress, recheckDelaySeconds: configuration.verifyRecheckSeconds,
                                                        logger: logger).run()
            }
        }
        let values = counters.snapshot
        let wall = ImportPipeline.seconds(ContinuousClock.now - began)
        logger.info(complete ? "import complete" : "import stopped", metadata: [
            "samples.sent": "\(values.samplesSent)", "requests": "\(values.requests)", "retries": "\(values.retries)",
            "splits": "\(values.splits)", "samples.rejected": "\(values.samplesRejected)", "seconds": "\(cFormat("%.3f", wall))"])
        let doneBefore = await journal?.doneSegmentsAtStart ?? 0
        return ImportSummary(
            archive: archive.root, target: configuration.target.redactedURL, dryRun: configuration.dryRun, complete: complete,
            segments: manifest.segments.count, segmentsSkippedCorrupt: corrupt, segmentsAlreadyDone: doneBefore,
            samplesRead: values.samplesRead, samplesSelected: values.samplesSelected, samplesSent: values.samplesSent,
            samplesAlreadyDelivered: values.samplesAlreadyDelivered, samplesRejected: values.samplesRejected,
            histogramsDropped: configuration.filter.histograms == .drop ? values.histogramsDropped : nil,
            histogramsConverted: configuration.filter.histograms == .classic ? values.histogramsConverted : nil,
            batches: values.batchesSent, requests: values.requests, retries: values.retries, splits: values.splits,
            rejectsFile: values.samplesRejected > 0 ? rejectsPath : nil, statePath: configuration.dryRun || configuration.noState ? nil : statePath,
            wallSeconds: wall, samplesPerSecond: wall > 0 ? Double(values.samplesSent) / wall : 0, verification: verification)
    }

    static func logSegmentDelivered(_ segment: String, samples: Int, logger: Logger) {
        logger.info("segment delivered", metadata: ["segment": "\(segment)", "samples.sent": "\(samples)"])
    }

    private func openJournal(statePath: String, manifest: Manifest) throws -> ImportJournal {
        let order = manifest.segments.map(\.file)
        let header = ImportJournal.Header(
            archiveCreatedAt: manifest.createdAt, archiveSource: manifest.source.url, target: configuration.target.redactedURL,
            filter: configuration.filter.description, batchSamples: configuration.batchSamples,
            batchBytes: configuration.effectiveBatchBytes, concurrency: configuration.concurrency)
        if configuration.noState { return ImportJournal(header: header, order: order, alreadyDone: 0) }
        do {
            return try ImportJournal(path: statePath, header: header, order: order)
        } catch let error as ArchiveStoreError where configuration.statePath == nil && error.code != .locked {
            throw ImportError(.stateNotWritable, "cannot keep the import's progress inside the archive (\(error.message)); "
                + "the archive is read-only? give --state FILE on writable storage", cause: error)
        }
    }

    /// The archive's manifest; with `--follow`, waits for an export to write its first one.
    private func firstManifest(of archive: ArchiveDirectory) async throws -> Manifest {
        guard configuration.follow else { return try archive.readManifest() }
        var noted = false
        var watch = WriterWatch(archive: archive, timeoutSeconds: configuration.followTimeoutSeconds, progress: progress)
        while try !archive.hasManifest {
            if !noted {
                progress.note("following \(archive.root): waiting for the export to write its manifest")
                noted = true
            }
            try await Task.sleep(for: .milliseconds(Int64(configuration.followPollSeconds * 1000)))
            try watch.check(grew: false)
        }
        return try archive.readManifest()
    }

    /// The senders (one per queue, each delivering and journalling its batches) and the reading side
    /// (`ImportRun.produce`) at once; the first failure of either stops the rest cleanly.
    private func transfer(_ run: ImportRun, latest: LatestManifest, client: RemoteWriteClient?, metric: ProgressMetric?,
                          rejectsPath: String) async throws {
        let (queues, journal, counters, report, sendFailure) = (run.queues, run.journal, run.counters, run.report, run.stop)
        let deliveries = run.deliveries
        let sender = client.map {
            BatchSender(client: $0, policy: configuration.onReject, retry: configuration.retry,
                        rateLimiter: configuration.rateLimit.map { RateLimiter(samplesPerSecond: $0) },
                        rejects: RejectsFile(path: rejectsPath), counters: counters, progress: progress, logger: logger)
        }
        let metricWriter = HighWaterMark()
        let readFailure = FirstError()
        let finishAll: @Sendable () async -> Void = { for queue in queues { await queue.finish() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for shard in 0..<run.shards {
                group.addTask {
                    // A sender that fails stops the others from taking new batches, but lets each finish
                    // (and journal) the request it has in flight: cancelling it could lose the target's
                    // acknowledgement of data it stored, which a resume would then send again.
                    do {
                        while let batch = await queues[shard].next() {
                            if await sendFailure.error != nil { break }
                            if let sender {
                                try await sender.deliver(batch)
                                let done = try await journal?.acknowledge(segment: batch.segment, batch: batch.index, samples: batch.sampleCount)
                                logger.debug("batch acknowledged", metadata: [
                                    "segment": "\(batch.segment)", "batch": "\(batch.index)", "samples": "\(batch.sampleCount)"])
                                if let done { Self.logSegmentDelivered(batch.segment, samples: done, logger: logger) }
                                if let metric, let client, let journal {
                                    try await metricWriter.advance(to: await journal.leadingSegmentsDone) { count, time in
                                        try await metric.write(count, at: time, with: client, logger: logger)
                                    }
                                }
                            } else {
                                counters.update { $0.batchesSent += 1 }
                            }
                            await deliveries.deliveredOne()
                            report()
                        }
                    } catch {
                        await sendFailure.record(error)
                        await deliveries.release()
                        await finishAll()
                    }
                }
            }
            group.addTask {
                // A reading failure (a corrupt segment) lets the senders deliver what is already queued —
                // verified data, journalled as it lands — and is raised once they are done.
                do {
                    try await run.produce(latest: latest)
                } catch {
                    await readFailure.record(error)
                }
                await finishAll()
            }
            while try await group.next() != nil {}
        }
        if let metric, let client, let journal, await sendFailure.error == nil {
            try await metricWriter.advance(to: await journal.leadingSegmentsDone) { count, time in
                try await metric.write(count, at: time, with: client, logger: logger)
            }
        }
        if let failure = await sendFailure.error { throw failure }
        if let failure = await readFailure.error { throw failure }
        let corrupt = await run.skipped.names
        if !corrupt.isEmpty {
            throw ImportError(.corruptSegments, "skipped \(corrupt.count) corrupt segment(s): \(corrupt.joined(separator: ", ")); "
                + "everything else was delivered. Copy those files again (or re-export their slabs) and re-run to deliver them")
        }
    }

    /// Prometheus before 3.0 refuses a histogram more than an hour older than its newest sample of
    /// any series, and a segment holds one series after another, each over the whole slab. So a slab
    /// whose segments hold histograms is delivered in windows of this width: every series' part of one
    /// window, in every segment of the slab, lands before the next window is read. The target's newest
    /// sample is then never far ahead of what follows.
    static let histogramWindowMs: Int64 = 30 * 60_000

    /// The time windows `segments` (a slab's, or with a version-1 journal a single segment) are
    /// delivered in, in order: one unbounded window unless one of them holds histograms and together
    /// they span at least `histogramWindowMs`. The grid starts at their earliest sample, so it depends
    /// only on the manifest: a resumed import cuts the same batches.
    static func deliveryWindows(_ all: [Manifest.SegmentEntry]) -> [Range<Int64>] {
        let segments = all.filter { $0.samples > 0 }  // an empty segment's times are 0
        guard segments.contains(where: { ($0.histograms ?? 0) > 0 }),
              let first = segments.map(\.minTimestampMs).min(), let last = segments.map(\.maxTimestampMs).max(),
              last - first >= histogramWindowMs else {
            return [Int64.min..<Int64.max]
        }
        return stride(from: first, through: last, by: Int(histogramWindowMs)).map { start in
            let end = start + histogramWindowMs
            return start..<(end > last ? Int64.max : end)
        }
    }

    /// How many of a delivered segment's samples the selection takes: what an earlier run sent of it.
    /// The journal records segments, not counts, so a resume under a selection reads the segment again.
    static func selectedSamples(of segment: Manifest.SegmentEntry, in archive: ArchiveDirectory, filter: SeriesFilter) throws -> Int {
        var reader = try archive.segmentReader(segment)
        var selected = 0
        while let block = try reader.nextBlock() {
            for series in block {
                guard let kept = filter.apply(series) else { continue }
                var pieces = filter.pieces(of: kept)
                while let piece = try next(&pieces) { selected += piece.reduce(0) { $0 + $1.sampleCount } }
            }
        }
        return selected
    }

    /// The next piece of a series as it is sent; a histogram without a classic form stops the import.
    static func next(_ pieces: inout OutputPieces) throws -> [Series]? {
        do {
            return try pieces.next()
        } catch {
            throw ImportError(.unconvertible, error.description)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Serialises progress-metric writes: one at a time, counts only growing, timestamps strictly
/// increasing (a target refuses a second sample with the same or an older timestamp). An update that
/// arrives while a write is under way is skipped; `flush` writes the final count.
actor HighWaterMark {
    private var written = 0
    private var lastTimestampMs: Int64 = 0
    private var writing = false

    func advance(to count: Int, _ write: (Int, Int64) async throws -> Void) async throws {
        guard count > written, !writing else { return }
        writing = true
        defer { writing = false }
        let timestamp = max(Int64(Date().timeIntervalSince1970 * 1000), lastTimestampMs + 1)
        try await write(count, timestamp)
        written = count
        lastTimestampMs = timestamp
    }
}

/// The newest manifest the import has seen (it grows while `--follow` follows an export).
final class LatestManifest: Sendable {
    private let state: Mutex<Manifest>
    init(_ manifest: Manifest) { state = Mutex(manifest) }
    var value: Manifest {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}

actor FirstError {
    private(set) var error: (any Error)?
    func record(_ error: any Error) { if self.error == nil { self.error = error } }
}

actor SkippedSegments {
    private(set) var names: [String] = []
    func add(_ name: String) { names.append(name) }
}

extension EndpointConfiguration {
    /// The same credentials, headers and TLS settings for another URL of the same server.
    public func with(url: String) -> EndpointConfiguration {
        var copy = self
        copy.url = url
        return copy
    }
}

/// Follow mode's watch on the archive's writer: while no process holds the archive's lock and the
/// manifest does not grow, the import waits at most `timeoutSeconds`, saying so once; then it stops
/// with the reason rather than wait forever for an export that was killed or never started.
struct WriterWatch {
    let archive: ArchiveDirectory
    let timeoutSeconds: Double
    let progress: any ImportProgress
    private var idleSince: ContinuousClock.Instant?

    init(archive: ArchiveDirectory, timeoutSeconds: Double, progress: any ImportProgress) {
        self.archive = archive
        self.timeoutSeconds = timeoutSeconds
        self.progress = progress
    }

    mutating func check(grew: Bool) throws {
        // Where /proc/locks cannot be read, only the manifest's growth counts.
        let writing = grew || archive.writerHoldsLock() == true
        if writing {
            if idleSince != nil { progress.note("following \(archive.root): an export is writing it again") }
            idleSince = nil
            return
        }
        guard let since = idleSince else {
            idleSince = .now
            progress.note("following \(archive.root): no export holds it now; waiting up to "
                + "\(DurationText.rough(ms: Int64(timeoutSeconds * 1000))) for one (--follow-timeout)")
            return
        }
        let idle = ContinuousClock.now - since
        if Double(idle.components.seconds) + Double(idle.components.attoseconds) / 1e18 >= timeoutSeconds {
            throw ImportError(.followTimedOut, "following \(archive.root): no export has written to it for "
                + "\(DurationText.rough(ms: Int64(timeoutSeconds * 1000))) and none holds it now (was prom-export stopped, or is the path "
                + "mistyped?); start or resume the export on that directory, then run this import again: it resumes")
        }
    }
}
