import ArchiveFormat
import ArchiveStore
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
public import Logging
import PrometheusWire
public import TSDBBlocks

/// `prom-archive blocks`: writes an archive as Prometheus TSDB blocks, for backfilling Prometheus,
/// Thanos or Mimir without remote write.
///
/// Invariants:
/// - Blocks cover aligned windows of `blockDurationMs` (multiples of it since the Unix epoch, as
///   Prometheus aligns its own), each holding exactly the archive's samples in its window: every
///   float's bits, staleness markers included, and every native histogram (kind, layout, buckets,
///   reset hint). What a block cannot hold is counted, never silently changed: start timestamps
///   (Prometheus 2.x chunks have no place for them), and the buckets of a histogram staleness marker.
/// - Each block is written atomically (`BlockWriter`). Its name is a ULID made from its window and
///   the archive's identity, so a re-run of the same command finds the blocks already written, skips
///   them, and writes the rest: a killed run loses at most the blocks it had not finished.
/// - Memory: the archive is read slab by slab in time order, and a block is finished as soon as the
///   slabs have passed its window. Held are: per open block, its series' labels and chunk references,
///   and the samples of open chunks, which are cut early when they would pass `memoryBytes`.
public enum ArchiveBlocks {
    public struct Options: Sendable {
        public var blockDurationMs: Int64
        /// The Thanos section's external labels; nil writes none (a Prometheus block).
        public var thanosLabels: [String: String]?
        /// Memory the samples of open chunks may take (about 64 bytes each).
        public var memoryBytes: Int

        public init(blockDurationMs: Int64, thanosLabels: [String: String]?, memoryBytes: Int) {
            self.blockDurationMs = blockDurationMs
            self.thanosLabels = thanosLabels
            self.memoryBytes = memoryBytes
        }
    }

    public struct Result: Codable, Sendable {
        public var archive: String
        public var outDirectory: String
        /// Blocks this run wrote.
        public var blocks: [BlockWriter.Summary]
        /// Blocks an earlier run of the same command had written, left as they were.
        public var blocksAlreadyWritten: [String]
        public var samples: Int
        /// Samples whose start timestamp a block has no place for.
        public var startTimestampsDropped: Int
        /// Native-histogram staleness markers that carried buckets, written as plain markers (Prometheus
        /// reads a marker's sum, never its buckets).
        public var staleMarkerBucketsDropped: Int
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Bytes a held sample is taken at when checking `memoryBytes`.
    static let heldSampleBytes = 64

    public static func write(_ path: String, to outDirectory: String, options: Options, logger: Logger? = nil,
                             note: (BlockWriter.Summary) -> Void = { _ in }) throws -> Result {
        let archive = ArchiveDirectory(root: path)
        guard try archive.hasManifest else {
            throw Failure(description: "\(path) holds no \(ArchiveNaming.manifestFile); give the directory of a promferry archive")
        }
        let manifest = try archive.readManifest()
        guard manifest.complete else {
            throw Failure(description: "\(path) is not complete (its export stopped at \(manifest.resumePointMs)); re-run the export "
                + "to finish it, then write blocks")
        }
        // Blocks for a bucket are written to a local staging directory, then uploaded one by one, meta.json last
        // (what Thanos and Mimir take as the mark of a complete block), and removed locally.
        let bucket = S3Location.isS3(outDirectory) ? ArchiveLocations.location(for: outDirectory) : nil
        let staging = try bucket.map { _ in try stagingDirectory() }
        defer { if let staging { try? FileManager.default.removeItem(atPath: staging) } }
        let blockDirectory = staging ?? outDirectory
        if let bucket { _ = try bucket.exists() } else { try prepare(outDirectory) }
        let duration = options.blockDurationMs
        let identity = Array("\(manifest.createdAt)|\(manifest.source.url)|\(duration)|".utf8)
            + Array((options.thanosLabels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",").utf8)
        var result = Result(archive: path, outDirectory: outDirectory, blocks: [], blocksAlreadyWritten: [], samples: 0,
                            startTimestampsDropped: 0, staleMarkerBucketsDropped: 0)
        var open: [Int64: BlockWriter] = [:]
        var skipped: Set<Int64> = []

        func window(_ t: Int64) -> Int64 {
            let (q, r) = t.quotientAndRemainder(dividingBy: duration)
            return (r < 0 ? q - 1 : q) * duration
        }
        func writer(for start: Int64) throws -> BlockWriter? {
            if let writer = open[start] { return writer }
            if skipped.contains(start) { return nil }
            let ulid = BlockULID.make(timeMs: start, seed: identity + Array("|\(start)".utf8))
            let existing = outDirectory + "/" + ulid
            if let bucket {
                // A block whose meta.json is there was uploaded whole; one without it is uploaded again, over what was there.
                if try bucket.entry(ulid + "/meta.json") != nil {
                    skipped.insert(start)
                    result.blocksAlreadyWritten.append(ulid)
                    logger?.info("block already written", metadata: ["block": "\(ulid)", "window.start": "\(start)"])
                    return nil
                }
            } else if FileManager.default.fileExists(atPath: existing) {
                guard FileManager.default.fileExists(atPath: existing + "/meta.json") else {
                    throw Failure(description: "\(existing) exists but holds no meta.json, so it is no block this command finished; "
                        + "remove it and re-run")
                }
                skipped.insert(start)
                result.blocksAlreadyWritten.append(ulid)
                logger?.info("block already written", metadata: ["block": "\(ulid)", "window.start": "\(start)"])
                return nil
            }
            let writer = try BlockWriter(outDirectory: blockDirectory, ulid: ulid, thanosLabels: options.thanosLabels)
            open[start] = writer
            return writer
        }
        func finish(before limit: Int64) throws {
            for start in open.keys.sorted() where start + duration <= limit {
                let writer = open.removeValue(forKey: start)!
                let summary = try writer.finish()
                if let bucket, let staging { try upload(summary.ulid, from: staging, to: bucket) }
                result.blocks.append(summary)
                note(summary)
                logger?.info("block written", metadata: [
                    "block": "\(summary.ulid)", "min.time": "\(summary.minTimeMs)", "max.time": "\(summary.maxTimeMs)",
                    "series": "\(summary.series)", "samples": "\(summary.samples)", "chunks": "\(summary.chunks)", "bytes": "\(summary.bytes)"])
            }
        }

        do {
            for slab in manifest.slabs {
                try finish(before: slab.startMs)
                for segment in slab.segments {
                    try archive.readSegment(segment) { piece in
                        let labels = try seriesLabels(piece.labels, thanos: options.thanosLabels)
                        result.samples += piece.sampleCount
                        result.startTimestampsDropped += piece.sampleStartTimestampsMs.count { $0 != 0 }
                            + piece.histograms.count { $0.startTimestampMs != 0 }
                        result.staleMarkerBucketsDropped += piece.histograms.count {
                            $0.isStaleMarker && ($0.counts.positiveBucketCount + $0.counts.negativeBucketCount > 0)
                        }
                        var f = piece.samples.startIndex, h = piece.histograms.startIndex
                        while f < piece.samples.endIndex || h < piece.histograms.endIndex {
                            let start = window(min(f < piece.samples.endIndex ? piece.samples[f].timestampMs : .max,
                                                   h < piece.histograms.endIndex ? piece.histograms[h].timestampMs : .max))
                            let end = start + duration
                            let fEnd = piece.samples[f...].firstIndex { $0.timestampMs >= end } ?? piece.samples.endIndex
                            let hEnd = piece.histograms[h...].firstIndex { $0.timestampMs >= end } ?? piece.histograms.endIndex
                            try writer(for: start)?.append(labels, floats: piece.samples[f..<fEnd], histograms: piece.histograms[h..<hEnd])
                            (f, h) = (fEnd, hEnd)
                        }
                    }
                    let held = open.values.reduce(0) { $0 + $1.heldSamples }
                    if held * heldSampleBytes > options.memoryBytes {
                        logger?.debug("open chunks cut early to stay within memory", metadata: ["samples.held": "\(held)"])
                        for writer in open.values { try writer.flushOpenChunks() }
                    }
                }
            }
            try finish(before: .max)
        } catch {
            for writer in open.values { writer.abandon() }
            throw error
        }
        return result
    }

    /// A new, empty directory under the system's temporary directory (`TMPDIR`).
    static func stagingDirectory() throws -> String {
        let parent = FileManager.default.temporaryDirectory.path
        var template = Array((parent + "/promferry-blocks-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Failure(description: "cannot create a staging directory under \(parent) for the blocks; set TMPDIR "
                + "to a writable directory with room for one block")
        }
        return String(cString: made)
    }

    /// Uploads the finished block `ulid` of `staging` under the bucket prefix, meta.json last, then removes it locally.
    static func upload(_ ulid: String, from staging: String, to bucket: any ArchiveLocation) throws {
        let local = LocalDirectory(root: staging)
        let chunks = try local.list(ulid + "/chunks").map { "chunks/" + $0 }
        for name in chunks + ["index", "tombstones", "meta.json"] {
            try bucket.place(ulid + "/" + name, from: local, as: ulid + "/" + name)
        }
        try FileManager.default.removeItem(atPath: staging + "/" + ulid)
    }

    /// The output directory, created when missing; anything else at its path is refused.
    static func prepare(_ outDirectory: String) throws {
        var isDirectory = false
        if FileManager.default.fileExists(atPath: outDirectory, isDirectory: &isDirectory) {
            guard isDirectory else {
                throw Failure(description: "\(outDirectory) exists and is not a directory; give a new or existing directory for the blocks")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)
        } catch {
            throw Failure(description: "cannot create \(outDirectory): \(error)")
        }
    }

    /// A series' labels in a block with Thanos labels: a label that the Thanos section carries with the
    /// same value is left out (Thanos and Mimir add external labels back from meta.json; kept in the
    /// series they would clash); one with another value is refused.
    static func seriesLabels(_ labels: Labels, thanos: [String: String]?) throws -> Labels {
        guard let thanos, !thanos.isEmpty else { return labels }
        var kept: [Label] = []
        for label in labels.labels {
            guard let external = thanos[label.nameString] else { kept.append(label); continue }
            guard external == label.valueString else {
                throw Failure(description: "series \(labels) has \(label.nameString)=\"\(label.valueString)\", but --thanos-label gives "
                    + "\(label.nameString)=\"\(external)\"; a block's external labels hold for all its series, so write these series "
                    + "to blocks of their own (prom-export --match) or choose another label")
            }
        }
        return Labels(sorted: kept)
    }
}
