import ArchiveFormat
import ArchiveStore
public import Logging
import PrometheusWire

/// `prom-archive compact` (and `prom-export --compact`): rewrites runs of consecutive slabs as one
/// wider slab whose segments hold each series as one long run of records.
///
/// Why: every slab's segments start anew — each series' labels, its first timestamp and value, and
/// zstd's context. On exporter-shaped data (1000 series × 24 h) an export in 4 slabs of 6 h takes
/// 0.497 bytes/sample, one cut into 9 slabs growing from 1 h 0.544; the same samples as one 24 h slab
/// take 0.482 (`scripts/bench`, "archive after prom-archive compact").
///
/// Invariants:
/// - Every sample keeps its bits, every label its bytes: series are decoded, concatenated in time
///   order and encoded again; each input segment's SHA-256 and footer are checked as it is read.
/// - The manifest is the commit point. New segments get names no listed segment has; the manifest
///   naming them is written only once all of them are durable; the old segments are removed after
///   it. A run killed before that commit leaves the archive as it was (its new files are orphans,
///   removed by the next compact or export); one killed after it leaves orphans of the old slabs, removed
///   the same way.
/// - Memory: a run of slabs is held decoded in memory, so a run is only as long as
///   `memoryBytes` allows by the manifest's counts (`estimatedBytes`); a slab larger than that stays as it is.
/// - The compacted archive gets a new `createdAt` (the old one is kept in `compactedFrom`): an import
///   journal or a `--follow` of the old archive refers to segments that are gone, and is refused rather
///   than applied to the new ones.
public enum ArchiveCompaction {
    public struct Options: Sendable {
        /// Widest slab a run may become.
        public var maxSlabMs: Int64
        /// Memory one run may take when decoded (`estimatedBytes`).
        public var memoryBytes: Int
        public var compressionLevel: Int
        public var createdAt: String

        public init(maxSlabMs: Int64, memoryBytes: Int, compressionLevel: Int, createdAt: String) {
            self.maxSlabMs = maxSlabMs
            self.memoryBytes = memoryBytes
            self.compressionLevel = compressionLevel
            self.createdAt = createdAt
        }
    }

    public struct Result: Codable, Equatable, Sendable {
        public var archive: String
        public var slabsBefore: Int
        public var slabsAfter: Int
        /// Slabs rewritten (the others were kept as they were).
        public var slabsRewritten: Int
        public var samples: Int
        public var bytesBefore: Int
        public var bytesAfter: Int
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Decoded size of a slab, from its manifest counts: a float sample is 16 bytes in memory and up to
    /// as much again while its array grows, a native histogram is taken at 1 KiB (its spans and
    /// buckets), and a series' labels and bookkeeping at 512 bytes.
    static func estimatedBytes(_ slab: Manifest.SlabEntry) -> Int {
        let histograms = slab.segments.reduce(0) { $0 + ($1.histograms ?? 0) }
        return (slab.samples - histograms) * 32 + histograms * 1024 + slab.series * 512
    }

    /// Runs of consecutive slabs to rewrite together: each at most `maxSlabMs` wide and within `memoryBytes`.
    static func plan(_ slabs: [Manifest.SlabEntry], maxSlabMs: Int64, memoryBytes: Int) -> [[Manifest.SlabEntry]] {
        var runs: [[Manifest.SlabEntry]] = []
        var run: [Manifest.SlabEntry] = []
        var bytes = 0
        for slab in slabs {
            let size = estimatedBytes(slab)
            if let first = run.first, slab.endMs - first.startMs > maxSlabMs || bytes + size > memoryBytes {
                runs.append(run)
                run = []
                bytes = 0
            }
            run.append(slab)
            bytes += size
        }
        if !run.isEmpty { runs.append(run) }
        return runs
    }

    /// Compacts the archive at `path`, taking the writers' lock; `note` receives one line per run rewritten.
    public static func compact(_ path: String, options: Options, logger: Logger? = nil, note: (String) -> Void = { _ in }) throws -> Result {
        let archive = ArchiveDirectory(root: path)
        guard try archive.hasManifest else {
            throw Failure(description: "\(path) holds no \(ArchiveNaming.manifestFile); give the directory of a promferry archive")
        }
        try archive.prepareForWriting()
        var manifest = try archive.readManifest()
        guard manifest.complete else {
            throw Failure(description: "\(path) is not complete (its export stopped at \(manifest.resumePointMs)); re-run the "
                + "export to finish it, then compact")
        }
        if let journal = archive.importStateFile {
            throw Failure(description: "\(path) holds \(journal): an import of this archive, finished or not, would no longer match "
                + "its segments; finish that import and remove the file, or compact before importing")
        }
        // What an interrupted compaction (or export) left is removed first.
        let leftovers = try archive.removeOrphans(keeping: manifest)
        if !leftovers.isEmpty {
            logger?.info("removed files of an interrupted run", metadata: ["files": "\(leftovers.joined(separator: " "))"])
        }
        let before = manifest
        let generation = nextGeneration(manifest)
        var slabs: [Manifest.SlabEntry] = []
        var written: [String] = []
        var rewritten = 0
        do {
            for run in plan(manifest.slabs, maxSlabMs: options.maxSlabMs, memoryBytes: options.memoryBytes) {
                let index = slabs.count
                guard run.count > 1 else {
                    var kept = run[0]
                    kept.index = index
                    slabs.append(kept)
                    continue
                }
                let series = try decode(run, from: archive)
                var entry = Manifest.SlabEntry(index: index, startMs: run.first!.startMs, endMs: run.last!.endMs,
                                               series: series.count, samples: 0, segments: [])
                entry.segments = try write(series, to: archive, slab: index, generation: generation,
                                           segmentTargetBytes: manifest.slabPlan.segmentTargetBytes,
                                           compressionLevel: options.compressionLevel, written: &written)
                entry.samples = entry.segments.reduce(0) { $0 + $1.samples }
                let expected = run.reduce(0) { $0 + $1.samples }
                guard entry.samples == expected else {
                    throw Failure(description: "slabs \(run.first!.index)–\(run.last!.index) of \(path) hold \(expected) samples "
                        + "by the manifest, but \(entry.samples) were written; the archive is left as it was")
                }
                let oldBytes = run.reduce(0) { $0 + $1.segments.reduce(0) { $0 + $1.bytes } }
                let newBytes = entry.segments.reduce(0) { $0 + $1.bytes }
                note("slabs \(run.first!.index)–\(run.last!.index) (\(run.count) slabs, \(expected) samples): \(oldBytes) → \(newBytes) bytes")
                logger?.info("slabs joined", metadata: [
                    "slabs.first": "\(run.first!.index)", "slabs.last": "\(run.last!.index)", "samples": "\(expected)",
                    "series": "\(series.count)", "bytes.before": "\(oldBytes)", "bytes.after": "\(newBytes)",
                    "segments": "\(entry.segments.count)"])
                slabs.append(entry)
                rewritten += run.count
            }
        } catch {
            for file in written { try? archive.removeFile(file) }
            throw error
        }
        var result = Result(archive: path, slabsBefore: before.slabs.count, slabsAfter: slabs.count, slabsRewritten: rewritten,
                            samples: before.totalSamples, bytesBefore: before.totalBytes, bytesAfter: before.totalBytes)
        guard rewritten > 0 else {
            // Nothing to join; committing again repairs a SHA256SUMS that a run killed after its manifest left behind.
            try archive.commit(manifest)
            return result
        }
        manifest.slabs = slabs
        manifest.compactedFrom = manifest.compactedFrom ?? manifest.createdAt
        manifest.createdAt = options.createdAt
        manifest.updatedAt = options.createdAt
        manifest.segmentFormatVersion = max(manifest.segmentFormatVersion, Int(SegmentLayout.formatVersion))
        try archive.commit(manifest)
        let removed = try archive.removeOrphans(keeping: manifest)
        result.bytesAfter = manifest.totalBytes
        logger?.info("compaction committed", metadata: [
            "archive": "\(path)", "slabs.before": "\(result.slabsBefore)", "slabs.after": "\(result.slabsAfter)",
            "bytes.before": "\(result.bytesBefore)", "bytes.after": "\(result.bytesAfter)", "old.segments.removed": "\(removed.count)"])
        return result
    }

    /// A suffix (`-c1`, `-c2`, …) that no listed segment name carries, so new files never replace listed ones.
    static func nextGeneration(_ manifest: Manifest) -> Int {
        var generation = 1
        let names = Set(manifest.segments.map(\.file))
        while names.contains(where: { $0.hasSuffix("-c\(generation)" + ArchiveNaming.segmentExtension) }) { generation += 1 }
        return generation
    }

    /// Every series of the run, each with its samples of all the run's slabs in time order, sorted by labels.
    static func decode(_ run: [Manifest.SlabEntry], from archive: ArchiveDirectory) throws -> [Series] {
        var position: [Labels: Int] = [:]
        var series: [Series] = []
        for slab in run {
            for segment in slab.segments {
                try archive.readSegment(segment) { piece in
                    guard let at = position[piece.labels] else {
                        position[piece.labels] = series.count
                        series.append(piece)
                        return
                    }
                    try append(piece, to: &series[at])
                }
            }
        }
        return series.sorted { $0.labels < $1.labels }
    }

    /// Appends a later piece of the same series; start timestamps stay parallel to the float samples
    /// (0 where a piece had none).
    static func append(_ piece: Series, to series: inout Series) throws {
        let lastFloat = series.samples.last?.timestampMs ?? .min
        let lastHistogram = series.histograms.last?.timestampMs ?? .min
        guard (piece.samples.first?.timestampMs ?? .max) > max(lastFloat, lastHistogram),
              (piece.histograms.first?.timestampMs ?? .max) > max(lastFloat, lastHistogram) else {
            throw Failure(description: "series \(piece.labels) has samples in two slabs out of time order; the archive is "
                + "damaged (run prom-archive verify)")
        }
        if !piece.sampleStartTimestampsMs.isEmpty || !series.sampleStartTimestampsMs.isEmpty {
            if series.sampleStartTimestampsMs.isEmpty { series.sampleStartTimestampsMs = Array(repeating: 0, count: series.samples.count) }
            series.sampleStartTimestampsMs += piece.sampleStartTimestampsMs.isEmpty
                ? Array(repeating: 0, count: piece.samples.count) : piece.sampleStartTimestampsMs
        }
        series.samples += piece.samples
        series.histograms += piece.histograms
    }

    /// Writes the series into segments of at most `segmentTargetBytes` (closed between series), durable
    /// but not yet listed; `written` collects their names.
    static func write(_ series: [Series], to archive: ArchiveDirectory, slab: Int, generation: Int, segmentTargetBytes: Int,
                      compressionLevel: Int, written: inout [String]) throws -> [Manifest.SegmentEntry] {
        var entries: [Manifest.SegmentEntry] = []
        var open: (encoder: SegmentEncoder, file: SegmentFileWriter)?
        func close() throws {
            guard let (encoder, file) = open else { return }
            try file.write(try encoder.finish())
            let sha256 = try file.commit()
            entries.append(Manifest.SegmentEntry(file: file.relativePath, bytes: encoder.bytesProduced, sha256: sha256,
                                                 summary: encoder.summary))
            open = nil
        }
        for one in series {
            if open == nil {
                let name = ArchiveNaming.segmentPath(slab: slab, part: entries.count)
                let file = try archive.createSegment(String(name.dropLast(ArchiveNaming.segmentExtension.count))
                    + "-c\(generation)" + ArchiveNaming.segmentExtension)
                written.append(file.relativePath)
                let encoder = try SegmentEncoder(compressionLevel: compressionLevel)
                try file.write(encoder.start())
                open = (encoder, file)
            }
            try open!.file.write(try open!.encoder.append(one))
            if open!.encoder.bytesProduced >= segmentTargetBytes { try close() }
        }
        try close()
        return entries
    }
}
