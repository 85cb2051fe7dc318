import ArchiveFormat
import ArchiveStore
import Logging
import RemoteStorageClient

/// The commit side of an export. Reads finish in any order; their slabs enter the manifest strictly
/// in ticket order, one durable `commit` per read, so the manifest always lists a gap-free prefix of
/// the range, whenever the process dies.
struct SlabCommitter {
    struct Counters {
        var slabs = 0, samples = 0, bytes = 0, retries = 0, splits = 0
    }

    private(set) var manifest: Manifest
    private var nextToCommit: Int
    /// Reads that finished before an earlier one: held until their turn.
    private var finished: [Int: SlabReadResult] = [:]
    private(set) var counters = Counters()
    private(set) var responseKind: ReadResponseKind?
    /// Distinct series of this run, counted by hash: a count needs no more.
    private(set) var distinctSeries = Set<Int>()

    init(manifest: Manifest) {
        self.manifest = manifest
        nextToCommit = manifest.slabs.count
    }

    /// Takes a finished read and commits every read whose turn has come; returns their tickets.
    mutating func take(_ result: SlabReadResult, archive: ArchiveDirectory, logger: Logger) throws -> [Int] {
        finished[result.ticket] = result
        var committed: [Int] = []
        while let ready = finished.removeValue(forKey: nextToCommit) {
            for slab in ready.slabs {
                manifest.slabs.append(.init(index: manifest.slabs.count, startMs: slab.startMs, endMs: slab.endMs,
                                            series: slab.series, samples: slab.samples, segments: slab.segments))
                let bytes = slab.segments.reduce(0) { $0 + $1.bytes }
                logger.info("slab committed", metadata: [
                    "slab": "\(manifest.slabs.count - 1)", "slab.start": "\(ExportPipeline.timestamp(ms: slab.startMs))",
                    "slab.width.ms": "\(slab.endMs - slab.startMs)", "series": "\(slab.series)", "samples": "\(slab.samples)",
                    "bytes": "\(bytes)", "segments": "\(slab.segments.count)",
                    "read": "\(ready.ticket)", "retries": "\(ready.retries)", "splits": "\(ready.splits)"])
                if slab.endMs == manifest.selection.endMs { manifest.complete = true }
                counters.slabs += 1
                counters.samples += slab.samples
                counters.bytes += bytes
            }
            manifest.updatedAt = ExportPipeline.timestamp()
            try archive.commit(manifest)
            counters.retries += ready.retries
            counters.splits += ready.splits
            responseKind = ready.kind ?? responseKind
            distinctSeries.formUnion(ready.seriesHashes)
            nextToCommit += 1
            committed.append(ready.ticket)
        }
        return committed
    }

    /// After a failure: the files of reads that finished but were never committed are removed.
    func discardUncommitted(archive: ArchiveDirectory) {
        for result in finished.values {
            for slab in result.slabs { for segment in slab.segments { try? archive.removeFile(segment.file) } }
        }
    }

    /// Once every read is committed: the archive is complete (also when the range held no slab to read).
    mutating func finish(archive: ArchiveDirectory) throws {
        guard !manifest.complete else { return }
        manifest.complete = true
        manifest.updatedAt = ExportPipeline.timestamp()
        try archive.commit(manifest)
    }
}
