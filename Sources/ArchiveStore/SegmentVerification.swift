public import ArchiveFormat
public import PrometheusWire

/// Reads one listed segment block by block and, at the end, checks it against its manifest entry:
/// size, SHA-256, and the footer's counts and time bounds.
///
/// Blocks are handed out before the checksum is known; callers that must not act on unverified data
/// call `ArchiveDirectory.verifyChecksum` first.
public struct SegmentReader {
    public let entry: Manifest.SegmentEntry
    private let fullPath: String
    private var decoder: SegmentDecoder<FileByteSource>

    init(archive: ArchiveDirectory, entry: Manifest.SegmentEntry) throws {
        self.entry = entry
        fullPath = archive.path(of: entry.file)
        if let size = try archive.size(of: entry.file), size != entry.bytes {
            throw ArchiveStoreError(.corrupt, "\(fullPath) has \(size) bytes, manifest.json says \(entry.bytes); "
                + "the file is truncated or altered (copy it again or re-export its slab)")
        }
        decoder = SegmentDecoder(name: fullPath, source: try archive.openSegment(entry.file))
    }

    /// The next block's series, or nil after the last block once every check has passed.
    public mutating func nextBlock() throws -> [Series]? {
        let block: [Series]?
        do {
            block = try decoder.nextBlock()
        } catch let error as ArchiveFormatError {
            throw ArchiveStoreError(error)
        }
        if block == nil { try finish() }
        return block
    }

    private func finish() throws {
        let digest = decoder.source.sha256()
        guard digest == entry.sha256 else {
            throw ArchiveStoreError(.corrupt, "\(fullPath): SHA-256 is \(digest), manifest.json says \(entry.sha256); "
                + "the file is corrupt (copy it again or re-export its slab)")
        }
        guard let footer = decoder.footer,
              Manifest.SegmentEntry(file: entry.file, bytes: entry.bytes, sha256: entry.sha256, summary: footer) == entry
        else {
            throw ArchiveStoreError(.corrupt, "\(fullPath): its footer disagrees with its manifest.json entry "
                + "(series, samples, histograms or time bounds)")
        }
    }
}

extension ArchiveDirectory {
    public func segmentReader(_ entry: Manifest.SegmentEntry) throws -> SegmentReader {
        try SegmentReader(archive: self, entry: entry)
    }

    /// Decodes a listed segment completely, checking it against its manifest entry; `body` receives
    /// each series record in order (before the checksum is known).
    public func readSegment(_ entry: Manifest.SegmentEntry, _ body: ((Series) throws -> Void)? = nil) throws {
        var reader = try segmentReader(entry)
        while let block = try reader.nextBlock() {
            if let body { for series in block { try body(series) } }
        }
    }
}
