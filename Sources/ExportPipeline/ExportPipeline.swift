import ArchiveFormat
import ArchiveStore
import Foundation
import Logging
import PrometheusWire
import RemoteStorageClient

/// `source → slab planner → remote-read client → segment writer → manifest`.
///
/// Each slab is read completely, its segments made durable, and only then recorded in the manifest
/// (atomically). A failed or cut-off read discards the slab's files and reads it again, after a
/// backoff; a sample-limit answer halves the slab. Re-running on the same directory resumes after
/// the last recorded slab.
public struct ExportPipeline: Sendable {
    public let configuration: ExportConfiguration
    public let progress: any ExportProgress
    public let logger: Logger
    public let toolName: String

    public init(configuration: ExportConfiguration, progress: any ExportProgress = SilentExportProgress(),
                logger: Logger, toolName: String = "prom-export") {
        self.configuration = configuration
        self.progress = progress
        self.logger = logger
        self.toolName = toolName
    }

    public func run() async throws -> ExportSummary {
        let client = try RemoteReadClient(endpoint: configuration.source, responseTypes: configuration.responseTypes)
        do {
            let summary = try await run(client: client)
            try await client.shutdown()
            return summary
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func run(client: RemoteReadClient) async throws -> ExportSummary {
        let archive = ArchiveDirectory(root: configuration.archivePath)
        do {
            return try await run(client: client, archive: archive)
        } catch {
            // A new archive that never got a slab is removed again, so that the corrected command
            // (another URL, another selector) is not refused as "another export".
            let manifest = try? archive.readManifest()
            if manifest == nil || (archive.createdManifest && manifest?.slabs.isEmpty == true) {
                archive.removeEmptyArchive()
            }
            throw error
        }
    }

    private func run(client: RemoteReadClient, archive: ArchiveDirectory) async throws -> ExportSummary {
        let clock = ContinuousClock()
        let began = clock.now
        try await client.checkReachable()
        try archive.prepareForWriting()
        var manifest: Manifest
        var resumedFrom: Int64?
        if archive.hasManifest {
            manifest = try archive.readManifest()
            try checkSameExport(manifest)
            let removed = try archive.removeOrphans(keeping: manifest)
            if !removed.isEmpty {
                logger.info("removed files of an interrupted slab", metadata: ["files": "\(removed.joined(separator: " "))"])
            }
            if !manifest.slabs.isEmpty { resumedFrom = manifest.resumePointMs }
            // Rewrites SHA256SUMS too, in case the previous run died between the two renames.
            try archive.commit(manifest)
        } else {
            try archive.removeOrphans(keeping: nil)
            let external = await client.externalLabels(logger: logger)
            manifest = Manifest(
                tool: .init(name: toolName, version: PromferryVersion.current),
                createdAt: Self.timestamp(),
                source: .init(url: configuration.source.redactedURL, externalLabels: external,
                              droppedLabels: configuration.dropLabels.sorted()),
                selection: .init(selectors: configuration.selectors.map(\.description),
                                 startMs: configuration.startMs, endMs: configuration.endMs,
                                 startArgument: configuration.startArgument, endArgument: configuration.endArgument),
                slabPlan: .init(slabDurationMs: configuration.slabWidthMs, segmentTargetBytes: configuration.segmentTargetBytes))
            try archive.commit(manifest)
        }

        var planner = SlabPlanner(rangeEndMs: manifest.selection.endMs, widthMs: configuration.slabWidthMs)
        var state = ExportProgressState(
            rangeStartMs: manifest.selection.startMs, rangeEndMs: manifest.selection.endMs,
            runStartMs: manifest.resumePointMs, committedThroughMs: manifest.resumePointMs, currentSlab: nil, slabWidthMs: planner.widthMs,
            samples: 0, bytes: 0, elapsedSeconds: 0, resumedSamples: manifest.totalSamples)
        progress.started(state)
        if let resumedFrom, !manifest.complete {
            progress.note("resuming \(archive.root) at \(Self.timestamp(ms: resumedFrom)) (\(manifest.slabs.count) slabs already done)")
        }

        var counters = (slabs: 0, samples: 0, bytes: 0, retries: 0, splits: 0)
        var responseKind: ReadResponseKind?
        // Distinct series of this run, counted by hash: a count needs no more.
        var distinctSeries = Set<Int>()
        let dropLabels = Set(configuration.dropLabels)

        while let slab = planner.slab(startingAt: manifest.resumePointMs) {
            let index = manifest.slabs.count
            var attempt = 1
            var completed: (segments: [Manifest.SegmentEntry], series: Int, samples: Int)?
            var bounds = slab
            while completed == nil {
                try Task.checkCancellation()
                let writer = SlabWriter(archive: archive, slabIndex: index, compressionLevel: configuration.compressionLevel,
                                            segmentTargetBytes: configuration.segmentTargetBytes, dropLabels: dropLabels)
                state.currentSlab = bounds
                state.slabWidthMs = bounds.endMs - bounds.startMs
                progress.update(state)
                do {
                    for selector in configuration.selectors {
                        let kind = try await client.read(startMs: bounds.startMs, endMs: bounds.endMs,
                                                         matchers: selector.matchers, logger: logger) { series in
                            _ = try writer.add(series)
                            var live = state
                            live.samples += writer.samples
                            live.bytes += writer.bytesWritten
                            live.elapsedSeconds = Self.seconds(clock.now - began)
                            progress.update(live)
                        }
                        responseKind = kind
                    }
                    completed = (try writer.finish(), writer.seriesCount, writer.samples)
                    for labels in writer.seriesWritten { distinctSeries.insert(labels.hashValue) }
                } catch let error as RemoteStorageError where error.code == .sampleLimitExceeded {
                    writer.abandon()
                    guard planner.halve() else {
                        throw ExportError(.cannotSplit, "\(error.message); even a 1 ms slab exceeds the source's sample limit: "
                            + "raise --storage.remote.read-sample-limit on the source or narrow --match")
                    }
                    counters.splits += 1
                    bounds = planner.slab(startingAt: bounds.startMs)!
                    progress.note("source refused the slab as too large (sample limit); retrying with \(Self.duration(planner.widthMs)) slabs")
                } catch let error as RemoteStorageError where error.isRetryable && attempt < configuration.retry.maxAttempts {
                    writer.abandon()
                    let delay = configuration.retry.delay(beforeRetry: attempt, retryAfterSeconds: error.retryAfterSeconds)
                    progress.retrying(slabStartMs: bounds.startMs, attempt: attempt, delaySeconds: delay, reason: error.message)
                    logger.info("slab read failed; retrying", metadata: [
                        "slab.start": "\(bounds.startMs)", "attempt": "\(attempt)", "error": "\(error.message)"])
                    attempt += 1
                    counters.retries += 1
                    try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                } catch let error as RemoteStorageError where error.isRetryable {
                    writer.abandon()
                    throw ExportError(.gaveUp, "slab [\(Self.timestamp(ms: bounds.startMs)), \(Self.timestamp(ms: bounds.endMs))) "
                        + "failed \(attempt) times; last error: \(error.message). Re-run the same command to resume.")
                } catch {
                    writer.abandon()
                    throw error
                }
            }
            let done = completed!
            manifest.slabs.append(.init(index: index, startMs: bounds.startMs, endMs: bounds.endMs,
                                        series: done.series, samples: done.samples, segments: done.segments))
            manifest.updatedAt = Self.timestamp()
            if bounds.endMs == manifest.selection.endMs { manifest.complete = true }
            try archive.commit(manifest)
            counters.slabs += 1
            counters.samples += done.samples
            counters.bytes += done.segments.reduce(0) { $0 + $1.bytes }
            state.committedThroughMs = bounds.endMs
            state.samples = counters.samples
            state.bytes = counters.bytes
            state.currentSlab = nil
            state.elapsedSeconds = Self.seconds(clock.now - began)
            progress.update(state)
        }
        if !manifest.complete {
            manifest.complete = true
            manifest.updatedAt = Self.timestamp()
            try archive.commit(manifest)
        }

        let wall = Self.seconds(clock.now - began)
        return ExportSummary(
            archive: archive.root, source: configuration.source.redactedURL, complete: manifest.complete,
            rangeStartMs: manifest.selection.startMs, rangeEndMs: manifest.selection.endMs,
            slabsWritten: counters.slabs, seriesWritten: distinctSeries.count, samplesWritten: counters.samples,
            bytesWritten: counters.bytes, archiveSlabs: manifest.slabs.count, archiveSamples: manifest.totalSamples,
            archiveBytes: manifest.totalBytes,
            archiveBytesPerSample: manifest.totalSamples == 0 ? 0 : Double(manifest.totalBytes) / Double(manifest.totalSamples),
            resumedFromMs: resumedFrom, retries: counters.retries, slabSplits: counters.splits,
            responseType: responseKind?.rawValue, wallSeconds: wall,
            samplesPerSecond: wall > 0 ? Double(counters.samples) / wall : 0)
    }

    /// Refuses to continue an archive that another export started; adopts the recorded range when
    /// the same relative `--start`/`--end` arguments are given again.
    private func checkSameExport(_ manifest: Manifest) throws {
        let root = configuration.archivePath
        func refuse(_ what: String) -> ExportError {
            ExportError(.archiveMismatch, "\(root) holds an export of \(what); use another directory, "
                + "or repeat that export's arguments to resume it")
        }
        if manifest.source.url != configuration.source.redactedURL {
            throw refuse("source \(manifest.source.url), not \(configuration.source.redactedURL)")
        }
        let selectors = configuration.selectors.map(\.description)
        if manifest.selection.selectors != selectors {
            throw refuse("selectors \(manifest.selection.selectors.joined(separator: " ")), not \(selectors.joined(separator: " "))")
        }
        if manifest.source.droppedLabels != configuration.dropLabels.sorted() {
            throw refuse("dropped labels [\(manifest.source.droppedLabels.joined(separator: ","))], not "
                + "[\(configuration.dropLabels.sorted().joined(separator: ","))]")
        }
        let startMatches = manifest.selection.startArgument == configuration.startArgument
            || manifest.selection.startMs == configuration.startMs
        let endMatches = manifest.selection.endArgument == configuration.endArgument
            || manifest.selection.endMs == configuration.endMs
        if !startMatches || !endMatches {
            throw refuse("range [\(Self.timestamp(ms: manifest.selection.startMs)), \(Self.timestamp(ms: manifest.selection.endMs))) "
                + "(--start \(manifest.selection.startArgument) --end \(manifest.selection.endArgument)), not "
                + "[\(Self.timestamp(ms: configuration.startMs)), \(Self.timestamp(ms: configuration.endMs)))")
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func timestamp(ms: Int64? = nil) -> String {
        let date = ms.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? Date()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = ms.map { $0 % 1000 == 0 } ?? false ? [.withInternetDateTime] : [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func duration(_ ms: Int64) -> String {
        if ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}
