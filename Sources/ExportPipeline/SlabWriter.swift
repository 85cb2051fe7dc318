import ArchiveFormat
import ArchiveStore
import PrometheusWire
import FoundationEssentials

/// Writes the series of one slab into one or more segment files.
///
/// Files are named by the read's ticket and a part number (`ArchiveNaming.segmentPath`); a read that is
/// split into several slabs continues its part numbers, so names never repeat within an archive.
///
/// A segment is closed once its size reaches `segmentTargetBytes` (checked after each block, so a
/// segment exceeds the target by at most one compressed block plus the footer). Segment files are
/// only made durable by `finish()`; `abandon()` removes everything written, so a failed read never
/// leaves a partial slab behind. The manifest, not this type, makes the slab part of the archive.
final class SlabWriter {
    private let archive: ArchiveDirectory
    private let ticket: Int
    private let compressionLevel: Int
    private let segmentTargetBytes: Int
    private let dropLabels: Set<String>
    /// The part number the next segment file takes.
    private(set) var nextPart: Int
    private var encoder: SegmentEncoder?
    private var file: SegmentFileWriter?
    private var committed: [Manifest.SegmentEntry] = []
    /// Series as the source named them (to skip one matched by two selectors) and as written
    /// (to catch `--drop-label` making two series identical).
    private var sourceSeries = Set<Fingerprint>()
    private var writtenSeries: [Labels: Labels] = [:]
    private(set) var samples = 0

    init(archive: ArchiveDirectory, ticket: Int, firstPart: Int, compressionLevel: Int, segmentTargetBytes: Int,
         dropLabels: Set<String>) {
        self.archive = archive
        self.ticket = ticket
        self.nextPart = firstPart
        self.compressionLevel = compressionLevel
        self.segmentTargetBytes = segmentTargetBytes
        self.dropLabels = dropLabels
    }

    var seriesCount: Int { writtenSeries.count }

    /// The series written, as stored (after dropping labels).
    var seriesWritten: Dictionary<Labels, Labels>.Keys { writtenSeries.keys }

    /// Bytes in this slab's segments so far (committed, current file, and buffered before compression).
    var bytesWritten: Int {
        committed.reduce(0) { $0 + $1.bytes } + (file?.bytesWritten ?? 0)
    }

    /// Adds one complete series. Returns false when it was already written for another selector.
    func add(_ series: Series) throws -> Bool {
        do {
            return try addSeries(series)
        } catch let error as ArchiveStoreError where error.code == .noSpace {
            throw noSpace(error)
        }
    }

    /// A full disk, said with the directory and the room one more slab needs.
    private func noSpace(_ error: ArchiveStoreError) -> ArchiveStoreError {
        ArchiveStoreError(.noSpace, "the filesystem holding \(archive.root) is full (\(error.message.components(separatedBy: ";").first ?? "")); "
            + "this slab needed more than the \(bytesWritten) bytes it had written, up to \(segmentTargetBytes) bytes per "
            + "segment: free that much space or more, then re-run the same command to resume (completed slabs are kept)")
    }

    private func addSeries(_ series: Series) throws -> Bool {
        guard sourceSeries.insert(Fingerprint(series.labels)).inserted else { return false }
        let labels = dropLabels.isEmpty ? series.labels : series.labels.removing(names: dropLabels)
        if let earlier = writtenSeries[labels] {
            throw ExportError(.labelCollision, "--drop-label \(dropLabels.sorted().joined(separator: ",")) makes series "
                + "\(earlier) and \(series.labels) identical; drop fewer labels or narrow --match")
        }
        writtenSeries[labels] = series.labels
        let (encoder, file) = try openSegment()
        try file.write(try encoder.append(Series(labels: labels, samples: series.samples, histograms: series.histograms,
                                                             sampleStartTimestampsMs: series.sampleStartTimestampsMs)))
        samples += series.samples.count + series.histograms.count
        if encoder.bytesProduced >= segmentTargetBytes { try closeSegment() }
        return true
    }

    /// Closes the last segment and returns every segment of the slab, durable on disk.
    func finish() throws -> [Manifest.SegmentEntry] {
        do {
            try closeSegment()
        } catch let error as ArchiveStoreError where error.code == .noSpace {
            throw noSpace(error)
        }
        return committed
    }

    /// Removes the files of this slab; used when the slab must be read again.
    func abandon() {
        file?.abandon()
        file = nil
        encoder = nil
        for entry in committed { try? archive.removeFile(entry.file) }
        committed = []
    }

    private func openSegment() throws -> (SegmentEncoder, SegmentFileWriter) {
        if let encoder, let file { return (encoder, file) }
        let encoder = try SegmentEncoder(compressionLevel: compressionLevel)
        let file = try archive.createSegment(ArchiveNaming.segmentPath(slab: ticket, part: nextPart))
        nextPart += 1
        try file.write(encoder.start())
        self.encoder = encoder
        self.file = file
        return (encoder, file)
    }

    private func closeSegment() throws {
        guard let encoder, let file else { return }
        try file.write(try encoder.finish())
        let digest = try file.commit()
        committed.append(Manifest.SegmentEntry(file: file.relativePath, bytes: file.bytesWritten, sha256: digest,
                                               summary: encoder.summary))
        self.encoder = nil
        self.file = nil
    }
}
