import FoundationEssentials
import Glibc
public import PrometheusWire

/// Writes one Prometheus TSDB block (index format 2, chunks format 1, meta.json version 1) from
/// series pieces given in time order per series.
///
/// Invariants:
/// - Atomic: everything is written under `<ulid>.tmp-for-creation` next to the final name (the suffix
///   Prometheus itself uses, and removes on start), fsynced, and renamed to `<ulid>` only when complete.
///   A run killed before the rename leaves no directory that any reader takes for a block.
/// - Chunks go to the segment files as they are cut; what stays in memory is, per series, its labels,
///   its chunks' references and the samples of its open chunk (at most 120, fewer after
///   `flushOpenChunks`).
/// - Series are written sorted by labels and each one's chunks in time order, without overlaps.
public final class BlockWriter {
    public struct Summary: Codable, Sendable, Equatable {
        public var ulid: String
        public var directory: String
        /// Inclusive.
        public var minTimeMs: Int64
        /// Exclusive (the last sample + 1), as Prometheus records it.
        public var maxTimeMs: Int64
        public var series: Int
        public var samples: Int
        public var chunks: Int
        public var bytes: Int
    }

    private struct SeriesState {
        var chunker = SeriesChunker()
        var chunks: [IndexReader.ChunkMeta] = []
    }

    public let ulid: String
    public let finalDirectory: String
    let temporaryDirectory: String
    private let thanosLabels: [String: String]?
    private let segments: ChunkSegmentWriter
    private var series: [Labels: SeriesState] = [:]
    private var samples = 0
    private var minTimeMs = Int64.max
    private var maxTimeMs = Int64.min
    /// Samples held in open chunks, over all series.
    public private(set) var heldSamples = 0

    /// The temporary directory's suffix; a directory with it is an unfinished block.
    public static let temporarySuffix = ".tmp-for-creation"

    /// Starts a block `ulid` in `outDirectory`, replacing an unfinished one of the same name.
    /// `thanosLabels`, when given, are written as meta.json's Thanos section (external labels).
    public init(outDirectory: String, ulid: String, thanosLabels: [String: String]?) throws {
        self.ulid = ulid
        self.thanosLabels = thanosLabels
        finalDirectory = outDirectory + "/" + ulid
        temporaryDirectory = finalDirectory + Self.temporarySuffix
        try? FileManager.default.removeItem(atPath: temporaryDirectory)
        guard mkdir(temporaryDirectory, 0o755) == 0, mkdir(temporaryDirectory + "/chunks", 0o755) == 0 else {
            throw OutputFile.failure("create", temporaryDirectory, errno)
        }
        segments = ChunkSegmentWriter(directory: temporaryDirectory + "/chunks")
    }

    /// Adds samples of one series: after every sample of it added before, floats and histograms
    /// interleaved by time.
    public func append(_ labels: Labels, floats: ArraySlice<Sample>, histograms: ArraySlice<HistogramSample>) throws {
        guard !floats.isEmpty || !histograms.isEmpty else { return }
        var state: SeriesState
        if let existing = series.removeValue(forKey: labels) {
            state = existing
        } else {
            guard !labels.labels.contains(where: { $0.name.isEmpty }) else {
                throw TSDBError(.unwritable, "series \(labels) has a label with an empty name, which a block cannot index; "
                    + "leave it out of the archive (prom-export --match) or relabel it")
            }
            state = SeriesState()
        }
        let before = state.chunker.heldSamples
        var chunks = state.chunks
        state.chunks = []
        try state.chunker.add(floats: floats, histograms: histograms, series: labels) { chunk in
            chunks.append(try self.store(chunk))
        }
        state.chunks = chunks
        heldSamples += state.chunker.heldSamples - before
        samples += floats.count + histograms.count
        minTimeMs = min(minTimeMs, floats.first?.timestampMs ?? .max, histograms.first?.timestampMs ?? .max)
        maxTimeMs = max(maxTimeMs, floats.last?.timestampMs ?? .min, histograms.last?.timestampMs ?? .min)
        series[labels] = state
    }

    private func store(_ chunk: EncodedChunk) throws -> IndexReader.ChunkMeta {
        let ref = try segments.append(encoding: chunk.encoding, data: chunk.data)
        return IndexReader.ChunkMeta(minTimeMs: chunk.minTimeMs, maxTimeMs: chunk.maxTimeMs, ref: ref)
    }

    /// Cuts every open chunk now, releasing the samples they hold (chunks get shorter, not wrong).
    public func flushOpenChunks() throws {
        for key in Array(series.keys) where series[key]!.chunker.heldSamples > 0 {
            var state = series[key]!
            var chunks = state.chunks
            state.chunks = []
            try state.chunker.flush { chunk in chunks.append(try self.store(chunk)) }
            state.chunks = chunks
            series[key] = state
        }
        heldSamples = 0
    }

    /// Cuts the open chunks, writes the index and meta.json, makes everything durable and renames
    /// the block into place.
    public func finish() throws -> Summary {
        try flushOpenChunks()
        try segments.close()
        let entries = series.map { IndexWriter.Entry(labels: $0.key, chunks: $0.value.chunks) }.sorted { $0.labels < $1.labels }
        series = [:]
        try IndexWriter.write(entries, to: temporaryDirectory + "/index")
        let meta = MetaOutput(ulid: ulid, minTime: minTimeMs, maxTime: maxTimeMs + 1,
                              stats: .init(numSamples: samples, numSeries: entries.count, numChunks: segments.chunks),
                              compaction: .init(level: 1, sources: [ulid]), version: 1,
                              thanos: thanosLabels.map { MetaOutput.Thanos(labels: $0, downsample: .init(resolution: 0), source: "promferry") })
        // An empty tombstones file, as Prometheus writes one for every block: magic, version 1, the CRC32C of no entries.
        let tombstones = try OutputFile(path: temporaryDirectory + "/tombstones")
        try tombstones.write([0x01, 0x30, 0xBA, 0x30, 1, 0, 0, 0, 0])
        try tombstones.close()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let metaFile = try OutputFile(path: temporaryDirectory + "/meta.json")
        try metaFile.write(Array(try encoder.encode(meta)))
        try metaFile.close()
        try OutputFile.syncDirectory(temporaryDirectory + "/chunks")
        try OutputFile.syncDirectory(temporaryDirectory)
        guard rename(temporaryDirectory, finalDirectory) == 0 else {
            throw OutputFile.failure("rename \(temporaryDirectory) to", finalDirectory, errno)
        }
        let parent = String(finalDirectory[..<finalDirectory.lastIndex(of: "/")!])
        try OutputFile.syncDirectory(parent.isEmpty ? "/" : parent)
        let bytes = FileCheck.bytes(in: finalDirectory) + FileCheck.bytes(in: finalDirectory + "/chunks")
        return Summary(ulid: ulid, directory: finalDirectory, minTimeMs: minTimeMs, maxTimeMs: maxTimeMs + 1, series: entries.count,
                       samples: samples, chunks: segments.chunks, bytes: bytes)
    }

    /// Removes the unfinished block.
    public func abandon() {
        try? FileManager.default.removeItem(atPath: temporaryDirectory)
    }

    /// meta.json as Prometheus writes it, with Thanos' section when asked for.
    struct MetaOutput: Encodable {
        struct Stats: Encodable {
            var numSamples: Int
            var numSeries: Int
            var numChunks: Int
        }

        struct Compaction: Encodable {
            var level: Int
            var sources: [String]
        }

        struct Thanos: Encodable {
            struct Downsample: Encodable { var resolution: Int64 }
            var labels: [String: String]
            var downsample: Downsample
            var source: String
        }

        var ulid: String
        var minTime: Int64
        var maxTime: Int64
        var stats: Stats
        var compaction: Compaction
        var version: Int
        var thanos: Thanos?
    }
}
