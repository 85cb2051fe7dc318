import ArchiveFormat
import PrometheusWire

extension ArchiveDirectory {
    /// Decodes a listed segment completely and checks it against its manifest entry: size, SHA-256,
    /// and the footer's counts and time bounds.
    ///
    /// `body` receives each series record in order *before* the checksum is known; callers that must
    /// not act on unverified data call this once without `body` to verify, then again to read.
    public func readSegment(_ entry: Manifest.SegmentEntry, _ body: ((Series) throws -> Void)? = nil) throws {
        let full = path(of: entry.file)
        if let size = FileIO.size(full), size != entry.bytes {
            throw ArchiveStoreError(.corrupt, "\(full) has \(size) bytes, manifest.json says \(entry.bytes); "
                + "the file is truncated or altered (copy it again or re-export its slab)")
        }
        var decoder = SegmentDecoder(name: full, source: try openSegment(entry.file))
        do {
            while let block = try decoder.nextBlock() {
                if let body { for series in block { try body(series) } }
            }
        } catch let error as ArchiveFormatError {
            throw ArchiveStoreError(.corrupt, error.message)
        }
        let digest = decoder.source.sha256()
        guard digest == entry.sha256 else {
            throw ArchiveStoreError(.corrupt, "\(full): SHA-256 is \(digest), manifest.json says \(entry.sha256); "
                + "the file is corrupt (copy it again or re-export its slab)")
        }
        guard let footer = decoder.footer,
              Manifest.SegmentEntry(file: entry.file, bytes: entry.bytes, sha256: entry.sha256, summary: footer) == entry
        else {
            throw ArchiveStoreError(.corrupt, "\(full): its footer disagrees with its manifest.json entry "
                + "(series, samples or time bounds)")
        }
    }
}
