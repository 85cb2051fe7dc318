import ArchiveFormat
import ArchiveStore
import Logging
import PrometheusWire

/// What the steps of one import run share: the settings (batch sizes as the journal fixed them), the
/// journal, the counters, the senders' queues and the first send failure. `ImportPipeline.transfer`
/// builds it once; the reading side is its methods, which take only what varies.
struct ImportRun: Sendable {
    let configuration: ImportConfiguration
    let progress: any ImportProgress
    let logger: Logger
    let journal: ImportJournal?
    /// One queue per sender; a batch goes to the queue of its shard.
    let queues: [BoundedQueue<Batch>]
    let batchSamples: Int
    let batchBytes: Int
    let counters: ImportCounters
    let skipped: SkippedSegments
    /// Set by the first sender that fails: reading stops taking new work.
    let stop: FirstError
    /// Lets a windowed segment wait for one window's batches to land before reading the next.
    let deliveries: DeliveryBarrier
    let report: @Sendable () -> Void

    var shards: Int { queues.count }
}

extension ImportRun {
    /// Reads the manifest's segments in order and queues their batches. With `--follow`, then waits
    /// for the export to commit more slabs (re-reading the manifest, which is replaced atomically)
    /// until the manifest says the export is complete.
    func produce(latest: LatestManifest) async throws {
        // Its own handle on the directory: the reading task owns it.
        let archive = ArchiveDirectory(root: configuration.archivePath)
        var manifest = latest.value
        var next = 0
        var watch = WriterWatch(archive: archive, timeoutSeconds: configuration.followTimeoutSeconds, progress: progress)
        while true {
            while next < manifest.slabs.count {
                if await stop.error != nil { return }
                try await produce(slab: manifest.slabs[next], archive: archive)
                next += 1
            }
            guard configuration.follow, !manifest.complete else { return }
            try await Task.sleep(for: .milliseconds(Int64(configuration.followPollSeconds * 1000)))
            if await stop.error != nil { return }
            let newer = try archive.readManifest()
            let known = manifest.segments.map(\.file)
            guard newer.createdAt == manifest.createdAt, newer.source.url == manifest.source.url,
                  newer.segments.prefix(known.count).map(\.file) == known else {
                throw ImportError(.archiveChanged, "\(archive.root) was replaced by another export while it was being followed "
                    + "(its manifest no longer starts with the slabs already imported); start the import again")
            }
            let grew = newer.slabs.count != manifest.slabs.count || newer.complete != manifest.complete
            try watch.check(grew: grew)
            guard grew else { continue }
            await journal?.extend(order: newer.segments.map(\.file))
            manifest = newer
            latest.value = newer
            report()
        }
    }

    /// Queues the batches of a slab's segments that are not yet delivered. Segments that hold
    /// histograms are read window by window (`ImportPipeline.deliveryWindows`): with a journal of
    /// version 2 or later over the whole slab, each window delivered in full before the next is read;
    /// with a version-1 journal segment by segment, as that version cut its batches.
    private func produce(slab: Manifest.SlabEntry, archive: ArchiveDirectory) async throws {
        var pending: [Manifest.SegmentEntry] = []
        for segment in slab.segments where try await needsDelivery(segment, archive: archive) {
            pending.append(segment)
        }
        guard !pending.isEmpty else { return }
        let groups: [(windows: [Range<Int64>], segments: [Manifest.SegmentEntry])]
        if let journal, await journal.header.version < 2 {
            groups = pending.map { (ImportPipeline.deliveryWindows([$0]), [$0]) }
        } else {
            groups = [(ImportPipeline.deliveryWindows(slab.segments), pending)]
        }
        for group in groups {
            var batchers = group.segments.map { Batcher(segment: $0.file, shards: shards, maxSamples: batchSamples, maxBytes: batchBytes) }
            var batches = Array(repeating: 0, count: group.segments.count)
            for window in group.windows {
                for (i, segment) in group.segments.enumerated() {
                    guard try await queue(segment, in: window, whole: group.windows.count == 1, archive: archive,
                                          batcher: &batchers[i], batches: &batches[i]) else { return }
                }
                if group.windows.count > 1 {
                    await deliveries.waitUntilDelivered()
                    if await stop.error != nil { return }
                }
            }
            for (i, segment) in group.segments.enumerated() {
                if let done = try await journal?.expect(segment: segment.file, batches: batches[i]) {
                    ImportPipeline.logSegmentDelivered(segment.file, samples: done, logger: logger)
                }
                logger.info("segment read", metadata: ["segment": "\(segment.file)", "batches": "\(batches[i])", "samples": "\(segment.samples)"])
            }
            report()
        }
    }

    /// Whether a segment is still to be sent: false when the journal has it delivered (its samples are
    /// counted as such) or when it is corrupt under `--skip-corrupt` (it is listed as skipped). Nothing
    /// of a segment is sent before its checksum is known to be right.
    private func needsDelivery(_ segment: Manifest.SegmentEntry, archive: ArchiveDirectory) async throws -> Bool {
        let filter = configuration.filter
        if let journal, await journal.doneSegments.contains(segment.file) {
            let selected = try filter.isIdentity ? segment.samples : ImportPipeline.selectedSamples(of: segment, in: archive, filter: filter)
            counters.update {
                $0.samplesRead += segment.samples
                $0.samplesSelected += selected
                $0.samplesAlreadyDelivered += selected
            }
            return false
        }
        do {
            try archive.verifyChecksum(segment)
        } catch let error as ArchiveStoreError where configuration.skipCorrupt {
            await skipped.add(segment.file)
            counters.update { $0.samplesRead += segment.samples }
            progress.note("skipping \(error.message)")
            return false
        }
        return true
    }

    /// Reads one segment's samples inside `window` (all of them when `whole`) and queues its batches
    /// as they are cut, closing the open ones at the end. Memory holds one decoded block plus the queued
    /// batches, never a whole segment. False once a sender has failed.
    private func queue(_ segment: Manifest.SegmentEntry, in window: Range<Int64>, whole: Bool, archive: ArchiveDirectory,
                       batcher: inout Batcher, batches: inout Int) async throws -> Bool {
        let filter = configuration.filter
        /// Queues a batch as soon as it is cut (waiting while its sender is full), so that a block's
        /// batches are never all held at once; false once a sender has failed.
        func enqueue(_ completed: [Batch]) async -> Bool {
            for batch in completed {
                batches += 1
                if let journal, await journal.isAcknowledged(segment: batch.segment, batch: batch.index) {
                    counters.update { $0.samplesAlreadyDelivered += batch.sampleCount }
                    continue
                }
                await deliveries.queuedOne()
                await queues[batch.shard].send(batch)
                if await stop.error != nil { return false }
            }
            return true
        }
        var reader = try archive.segmentReader(segment)
        while let block = try reader.nextBlock() {
            for record in block {
                let series = whole ? record : record.restricted(to: window)
                guard series.sampleCount > 0 else { continue }
                counters.update { $0.samplesRead += series.sampleCount }
                let dropped = filter.droppedHistograms(of: series)
                if dropped > 0 { counters.update { $0.histogramsDropped += dropped } }
                guard let selected = filter.apply(series) else { continue }
                var pieces = filter.pieces(of: selected)
                while let piece = try ImportPipeline.next(&pieces) {
                    for output in piece {
                        counters.update { $0.samplesSelected += output.sampleCount }
                        guard await enqueue(batcher.add(output)) else { return false }
                    }
                }
                if pieces.histogramsConverted > 0 { counters.update { $0.histogramsConverted += pieces.histogramsConverted } }
            }
        }
        return await enqueue(batcher.finish())
    }
}
