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
            while next < manifest.segments.count {
                if await stop.error != nil { return }
                try await produce(segment: manifest.segments[next], archive: archive)
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

    private func produce(segment: Manifest.SegmentEntry, archive: ArchiveDirectory) async throws {
        let filter = configuration.filter
        if let journal, await journal.doneSegments.contains(segment.file) {
            let selected = try filter.isIdentity ? segment.samples : ImportPipeline.selectedSamples(of: segment, in: archive, filter: filter)
            counters.update {
                $0.samplesRead += segment.samples
                $0.samplesSelected += selected
                $0.samplesAlreadyDelivered += selected
            }
            return
        }
        // Nothing of a segment is sent before its checksum is known to be right.
        do {
            try archive.verifyChecksum(segment)
        } catch let error as ArchiveStoreError where configuration.skipCorrupt {
            await skipped.add(segment.file)
            counters.update { $0.samplesRead += segment.samples }
            progress.note("skipping \(error.message)")
            return
        }
        var batcher = Batcher(segment: segment.file, shards: shards, maxSamples: batchSamples, maxBytes: batchBytes)
        var batches = 0
        /// Queues a batch as soon as it is cut (waiting while its sender is full), so that a block's
        /// batches are never all held at once; false once a sender has failed.
        func enqueue(_ completed: [Batch]) async -> Bool {
            for batch in completed {
                batches += 1
                if let journal, await journal.isAcknowledged(segment: batch.segment, batch: batch.index) {
                    counters.update { $0.samplesAlreadyDelivered += batch.sampleCount }
                    continue
                }
                await queues[batch.shard].send(batch)
                if await stop.error != nil { return false }
            }
            return true
        }
        // Block by block: memory holds one decoded block plus the queued batches, never a whole segment.
        // A segment holding histograms goes window by window (`deliveryWindows`), read once per window.
        let windows = ImportPipeline.deliveryWindows(segment)
        for window in windows {
            var reader = try archive.segmentReader(segment)
            while let block = try reader.nextBlock() {
                for record in block {
                    let series = windows.count == 1 ? record : record.restricted(to: window)
                    guard series.sampleCount > 0 else { continue }
                    counters.update { $0.samplesRead += series.sampleCount }
                    let dropped = filter.droppedHistograms(of: series)
                    if dropped > 0 { counters.update { $0.histogramsDropped += dropped } }
                    guard let selected = filter.apply(series) else { continue }
                    var pieces = filter.pieces(of: selected)
                    while let piece = try ImportPipeline.next(&pieces) {
                        for output in piece {
                            counters.update { $0.samplesSelected += output.sampleCount }
                            guard await enqueue(batcher.add(output)) else { return }
                        }
                    }
                    if pieces.histogramsConverted > 0 { counters.update { $0.histogramsConverted += pieces.histogramsConverted } }
                }
            }
            guard await enqueue(batcher.finish()) else { return }
        }
        if let done = try await journal?.expect(segment: segment.file, batches: batches) {
            ImportPipeline.logSegmentDelivered(segment.file, samples: done, logger: logger)
        }
        logger.info("segment read", metadata: ["segment": "\(segment.file)", "batches": "\(batches)", "samples": "\(segment.samples)"])
        report()
    }
}
