import ArchiveFormat
import ArchiveStore
import FoundationEssentials
public import Logging
import PrometheusWire
import RemoteStorageClient
import Synchronization

/// `source (remote read | VictoriaMetrics export | TSDB blocks) → slab planner → segment writer → manifest`.
///
/// Up to `concurrency` slabs are read at once (`SlabReader`), each streamed into its own segment
/// files; a slab is recorded in the manifest (atomically) only once its segments are durable and
/// every slab before it is recorded, so the manifest always covers a gap-free prefix of the range. A
/// failed or cut-off read discards its files and reads again after a backoff; a sample-limit or
/// over-budget answer splits the slab in halves. Slab widths follow `SlabSizer` (AIMD on the memory
/// each read held). Re-running on the same directory resumes after the last recorded slab.
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
        try configuration.checkRangeIsPast(nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        let client: any SeriesSource = switch configuration.sourceKind {
        case .remoteRead: try RemoteReadClient(endpoint: configuration.source, responseTypes: configuration.responseTypes)
        case .victoriaMetrics: try VictoriaMetricsExportClient(endpoint: configuration.source)
        case .tsdb: TSDBSeriesSource(path: configuration.source.url)
        }
        do {
            let summary = try await run(client: client)
            try await client.shutdown()
            return summary
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func run(client: any SeriesSource) async throws -> ExportSummary {
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

    private func run(client: any SeriesSource, archive: ArchiveDirectory) async throws -> ExportSummary {
        let clock = ContinuousClock()
        let began = clock.now
        try await client.checkReachable()
        for note in client.notes {
            progress.note(note)
            logger.warning("source note", metadata: ["note": "\(note)"])
        }
        try archive.prepareForWriting()
        let (opened, resumedFrom) = try await resumeOrCreate(archive, client: client)
        var readConfiguration = configuration
        if let names = opened.shard?.metricNames { readConfiguration.selectors = Self.selectors(configuration.selectors, restrictedTo: names) }
        var planner = makePlanner(opened)
        var state = ExportProgressState(
            rangeStartMs: opened.selection.startMs, rangeEndMs: opened.selection.endMs,
            runStartMs: opened.resumePointMs, committedThroughMs: opened.resumePointMs, readsInFlight: 0,
            slabWidthMs: planner.widthMs, samples: 0, bytes: 0, elapsedSeconds: 0, resumedSamples: opened.totalSamples)
        progress.started(state)
        if let resumedFrom, !opened.complete {
            progress.note("resuming \(archive.root) at \(Self.timestamp(ms: resumedFrom)) (\(opened.slabs.count) slabs already done)")
        }
        logger.info(resumedFrom == nil ? "export started" : "export resumed", metadata: [
            "archive": "\(archive.root)", "source": "\(configuration.source.redactedURL)",
            "range.start": "\(Self.timestamp(ms: opened.selection.startMs))", "range.end": "\(Self.timestamp(ms: opened.selection.endMs))",
            "resume.from": "\(Self.timestamp(ms: opened.resumePointMs))", "slabs.done": "\(opened.slabs.count)",
            "samples.done": "\(opened.totalSamples)", "concurrency": "\(configuration.concurrency)",
            "read.budget.bytes": "\(configuration.readBudgetBytes)", "slab.width.ms": "\(planner.widthMs)"])

        var peakReadBytes = 0
        var committer = SlabCommitter(manifest: opened)
        let inFlight = InFlightCounters()
        let committed = Mutex((samples: 0, bytes: 0))
        let liveState = Mutex(state)
        let reader = SlabReader(client: client, archiveRoot: archive.root, configuration: readConfiguration, progress: progress,
                                inFlight: inFlight, onSamples: { [progress] in
                                    var live = liveState.withLock { $0 }
                                    let (samples, bytes, reads) = inFlight.totals
                                    let done = committed.withLock { $0 }
                                    live.samples = done.samples + samples
                                    live.bytes = done.bytes + bytes
                                    live.readsInFlight = reads
                                    live.elapsedSeconds = Self.seconds(clock.now - began)
                                    progress.update(live)
                                }, logger: logger)

        // Up to `concurrency` reads run at once; each writes its own segment files. Results are
        // committed strictly in ticket order, so the manifest always lists a gap-free prefix of the range.
        // A SAMPLES source's replies are buffered whole: when one overruns its share of --max-memory,
        // half as many reads run from then on, each with twice the share, instead of every read
        // splitting its slab into ever smaller ones.
        var readsAllowed = configuration.concurrency
        var cursor = opened.resumePointMs
        var nextTicket = opened.slabs.count
        do {
            try await withThrowingTaskGroup(of: SlabReadResult.self) { group in
                var running = 0
                while true {
                    while running < readsAllowed, let bounds = planner.slab(startingAt: cursor) {
                        // No read starts after the range's last slab, so it may take the share of the reads
                        // actually running plus itself: with k running under shares of R > k reads,
                        // k/R + 1/(k+1) <= 1 keeps the total within --max-memory.
                        let budget = bounds.endMs == planner.rangeEndMs
                            ? max(planner.sizer.budgetBytes, configuration.readBudgetBytes(readsInFlight: running + 1))
                            : planner.sizer.budgetBytes
                        let read = SlabRead(ticket: nextTicket, startMs: bounds.startMs, endMs: bounds.endMs, budgetBytes: budget)
                        group.addTask { try await reader.read(read) }
                        nextTicket += 1
                        running += 1
                        cursor = bounds.endMs
                    }
                    state.readsInFlight = running
                    state.slabWidthMs = planner.widthMs
                    liveState.withLock { $0 = state }
                    progress.update(state)
                    guard let result = try await group.next() else { break }
                    running -= 1
                    for observation in result.observations {
                        let adjustment = planner.sizer.observe(peakBytes: observation.peakBytes, readWidthMs: observation.widthMs,
                                                               scalesWithWidth: result.kind == .samples)
                        peakReadBytes = max(peakReadBytes, observation.peakBytes)
                        logger.debug("slab width", metadata: [
                            "adjustment": "\(adjustment)", "read.width.ms": "\(observation.widthMs)",
                            "read.peak.bytes": "\(observation.peakBytes)", "read.budget.bytes": "\(planner.sizer.budgetBytes)",
                            "next.width.ms": "\(planner.sizer.widthMs)"])
                    }
                    // A split under an earlier, smaller share says nothing about the current one.
                    if result.budgetBytes == planner.sizer.budgetBytes {
                        if result.kind == .samples, result.splits > 0, readsAllowed > 1 {
                            readsAllowed = max(1, readsAllowed / 2)
                            planner.sizer.rebudget(configuration.readBudgetBytes(readsInFlight: readsAllowed))
                            logger.notice("fewer reads in flight", metadata: [
                                "reads": "\(readsAllowed)", "read.budget.bytes": "\(planner.sizer.budgetBytes)"])
                            progress.note("the source answers SAMPLES, which are held whole until decoded, and a reply outgrew "
                                + "its share of --max-memory: \(readsAllowed) read(s) in flight from now on, each with "
                                + "\(planner.sizer.budgetBytes >> 20) MiB")
                        } else if let narrowed = result.narrowedToMs {
                            planner.sizer.overran(readWidthMs: narrowed * 2)
                        }
                    }
                    for ticket in try committer.take(result, archive: archive, logger: logger) { inFlight.remove(ticket: ticket) }
                    committed.withLock { $0 = (committer.counters.samples, committer.counters.bytes) }
                    state.committedThroughMs = committer.manifest.resumePointMs
                    state.samples = committer.counters.samples
                    state.bytes = committer.counters.bytes
                    state.elapsedSeconds = Self.seconds(clock.now - began)
                }
            }
        } catch {
            // Reads that finished but could not be committed in order leave no files behind.
            committer.discardUncommitted(archive: archive)
            throw error
        }
        state.readsInFlight = 0
        progress.update(state)
        try committer.finish(archive: archive)
        let manifest = committer.manifest
        let counters = committer.counters

        let wall = Self.seconds(clock.now - began)
        logger.info(manifest.complete ? "export complete" : "export stopped", metadata: [
            "archive": "\(archive.root)", "slabs": "\(counters.slabs)", "samples": "\(counters.samples)", "bytes": "\(counters.bytes)",
            "retries": "\(counters.retries)", "splits": "\(counters.splits)", "seconds": "\(cFormat("%.3f", wall))"])
        return ExportSummary(
            archive: archive.root, source: configuration.source.redactedURL, complete: manifest.complete,
            rangeStartMs: manifest.selection.startMs, rangeEndMs: manifest.selection.endMs,
            slabsWritten: counters.slabs, seriesWritten: committer.distinctSeries.count, samplesWritten: counters.samples,
            bytesWritten: counters.bytes, archiveSlabs: manifest.slabs.count, archiveSamples: manifest.totalSamples,
            archiveBytes: manifest.totalBytes,
            archiveBytesPerSample: manifest.totalSamples == 0 ? 0 : Double(manifest.totalBytes) / Double(manifest.totalSamples),
            resumedFromMs: resumedFrom, retries: counters.retries, slabSplits: counters.splits,
            concurrency: configuration.concurrency, peakReadBytes: peakReadBytes,
            responseType: committer.responseKind?.rawValue, wallSeconds: wall,
            samplesPerSecond: wall > 0 ? Double(counters.samples) / wall : 0)
    }

    /// Resume: the archive's manifest, checked to be this export's, its damaged slabs dropped with
    /// `repair`, the orphans of an interrupted slab removed. A new archive: its first manifest, with
    /// the source's external labels. Either is committed before any read.
    private func resumeOrCreate(_ archive: ArchiveDirectory, client: any SeriesSource) async throws -> (Manifest, resumedFrom: Int64?) {
        var manifest: Manifest
        var resumedFrom: Int64?
        if try archive.hasManifest {
            manifest = try archive.readManifest()
            try checkSameExport(manifest)
            try checkSegmentsPresent(&manifest, archive: archive)
            let removed = try archive.removeOrphans(keeping: manifest)
            if !removed.isEmpty {
                logger.info("removed files of an interrupted slab", metadata: ["files": "\(removed.joined(separator: " "))"])
            }
            if !manifest.slabs.isEmpty { resumedFrom = manifest.resumePointMs }
            // This run writes segments of the current version beside any older ones.
            manifest.segmentFormatVersion = max(manifest.segmentFormatVersion, Int(SegmentLayout.formatVersion))
            // Rewrites SHA256SUMS too, in case the previous run died between the two renames.
            try archive.commit(manifest)
        } else {
            try archive.removeOrphans(keeping: nil)
            let external = await client.externalLabels(logger: logger)
            manifest = Manifest(
                tool: .init(name: toolName, version: PromferryVersion.current),
                createdAt: Self.timestamp(),
                source: .init(url: configuration.source.redactedURL, externalLabels: external,
                              droppedLabels: configuration.dropLabels.sorted(), kind: configuration.sourceKind.rawValue),
                selection: .init(selectors: configuration.selectors.map(\.description),
                                 startMs: configuration.startMs, endMs: configuration.endMs,
                                 startArgument: configuration.startArgument, endArgument: configuration.endArgument),
                slabPlan: .init(slabDurationMs: configuration.slabWidthMs, segmentTargetBytes: configuration.segmentTargetBytes))
            manifest.shard = configuration.shard
            if let shard = configuration.shard, shard.by == "series" {
                // The names are listed once, when the part begins; a resume reads the same names.
                let names = try await client.metricNames(startMs: configuration.startMs, endMs: configuration.endMs,
                                                         selectors: configuration.selectors, logger: logger)
                manifest.shard?.metricNames = names.filter { Manifest.ShardPart.part(ofMetric: $0, count: shard.count) == shard.index }
                progress.note("part \(shard.index)/\(shard.count): \(manifest.shard!.metricNames!.count) of the \(names.count) metric names")
            }
            try archive.commit(manifest)
        }

        return (manifest, resumedFrom)
    }

    /// `selectors`, each narrowed to `names` by one more matcher on the metric name; none when `names` is
    /// empty (the part has no metric, and reads nothing).
    static func selectors(_ selectors: [SeriesSelector], restrictedTo names: [String]) -> [SeriesSelector] {
        guard !names.isEmpty else { return [] }
        let alternatives = names.map { name in
            String(name.flatMap { "\\.+*?()|[]{}^$".contains($0) ? ["\\", $0] : [$0] })
        }.joined(separator: "|")
        return selectors.map { SeriesSelector(matchers: $0.matchers + [LabelMatcher("__name__", .regexMatch, alternatives)]) }
    }

    /// The slab planner; a resumed export continues at the width its last run had reached.
    private func makePlanner(_ manifest: Manifest) -> SlabPlanner {
        let firstWidth = manifest.slabs.last.map { min(max($0.endMs - $0.startMs, configuration.slabWidthMs), configuration.maxSlabWidthMs) }
            ?? configuration.firstSlabWidthMs
        return SlabPlanner(rangeEndMs: manifest.selection.endMs, sizer: SlabSizer(
            initialWidthMs: firstWidth, stepMs: configuration.slabWidthMs, maxWidthMs: configuration.maxSlabWidthMs,
            budgetBytes: configuration.readBudgetBytes))
    }

    /// Resume trusts the manifest's slabs, so each of their segment files must still be there with
    /// its recorded size (a cheap check; `prom-archive verify` checks every byte). Otherwise the
    /// export stops naming the damage, or with `repair` drops the first damaged slab and every later
    /// one from the manifest so that they are read again from the source.
    private func checkSegmentsPresent(_ manifest: inout Manifest, archive: ArchiveDirectory) throws {
        guard let (slab, problem) = try archive.firstSegmentProblem(manifest) else { return }
        let entry = manifest.slabs[slab]
        let from = Self.timestamp(ms: entry.startMs)
        guard configuration.repair else {
            throw ExportError(.damagedArchive, "\(problem), so slab \(entry.index) (from \(from)) is no longer in the archive; "
                + "re-run with --repair to read it and every later slab (\(manifest.slabs.count - slab) in all) again from the "
                + "source, or restore the file from a copy of the archive")
        }
        progress.note("repairing \(archive.root): \(problem); reading slab \(entry.index) (from \(from)) and every later "
            + "slab again (\(manifest.slabs.count - slab) in all)")
        logger.notice("repairing archive", metadata: ["problem": "\(problem)", "fromSlab": "\(entry.index)",
                                                    "slabsDropped": "\(manifest.slabs.count - slab)"])
        manifest.slabs.removeSubrange(slab...)
        manifest.complete = false
        manifest.updatedAt = Self.timestamp()
    }

    /// Refuses to continue an archive that another export started; adopts the recorded range when
    /// the same relative `--start`/`--end` arguments are given again.
    private func checkSameExport(_ manifest: Manifest) throws {
        let root = configuration.archivePath
        func refuse(_ what: String) -> ExportError {
            ExportError(.archiveMismatch, "\(root) holds an export of \(what); use another directory, "
                + "or repeat that export's arguments to resume it")
        }
        if manifest.source.url != configuration.source.redactedURL || manifest.source.kindOrRemoteRead != configuration.sourceKind.rawValue {
            throw refuse("source \(manifest.source.url) (\(manifest.source.kindOrRemoteRead)), not \(configuration.source.redactedURL) "
                + "(\(configuration.sourceKind.rawValue))")
        }
        let selectors = configuration.selectors.map(\.description)
        if manifest.selection.selectors != selectors {
            throw refuse("selectors \(manifest.selection.selectors.joined(separator: " ")), not \(selectors.joined(separator: " "))")
        }
        if manifest.source.droppedLabels != configuration.dropLabels.sorted() {
            throw refuse("dropped labels [\(manifest.source.droppedLabels.joined(separator: ","))], not "
                + "[\(configuration.dropLabels.sorted().joined(separator: ","))]")
        }
        // The part, not the job's range: a relative range (--start -30d) resolves anew on every run.
        if manifest.shard.map({ "\($0.index)/\($0.count) \($0.by)" }) != configuration.shard.map({ "\($0.index)/\($0.count) \($0.by)" }) {
            func describe(_ shard: Manifest.ShardPart?) -> String {
                shard.map { "part \($0.index)/\($0.count) (by \($0.by))" } ?? "a whole job (no --shard)"
            }
            throw refuse("\(describe(manifest.shard)), not \(describe(configuration.shard))")
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
        if let ms { return TimestampText.rfc3339(ms) }
        return TimestampText.now()
    }

    static func duration(_ ms: Int64) -> String {
        if ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}

