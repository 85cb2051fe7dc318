public import ArchiveFormat
import Crypto
import FoundationEssentials

/// An archive (`formats/archive-layout-v1.md`) at a location: its rules, written once against
/// `ArchiveLocation`, whatever stores the files (`LocalDirectory` for a path).
///
/// Durability rules:
/// - segments become visible under their final name only when complete (see `SegmentFileWriter`);
/// - `commit(_:)` writes `manifest.json`, then `SHA256SUMS`, each atomically. The manifest is the
///   single source of truth: a segment file it does not list is an orphan of an interrupted run and
///   is removed on resume.
/// So whenever the process dies, the location holds a valid archive of the slabs the manifest lists.
public final class ArchiveDirectory {
    public let location: any ArchiveLocation
    /// The largest manifest read: bounds the memory any tool spends on an untrusted one.
    public static let maxManifestBytes = 64 << 20

    public init(location: any ArchiveLocation) { self.location = location }

    /// The archive at `root`: a directory path, or `s3://BUCKET/PREFIX`.
    public convenience init(root: String) { self.init(location: ArchiveLocations.location(for: root)) }

    public var root: String { location.root }
    public var manifestPath: String { path(of: ArchiveNaming.manifestFile) }
    public var checksumsPath: String { path(of: ArchiveNaming.checksumsFile) }
    public var segmentsPath: String { path(of: ArchiveNaming.segmentsDirectory) }

    /// A name's full form, for messages.
    public func path(of relative: String) -> String { location.path(of: relative) }

    /// Whether the archive holds a manifest.
    public var hasManifest: Bool {
        get throws {
            if case .file = try location.entry(ArchiveNaming.manifestFile) { return true }
            return false
        }
    }

    /// Whether prom-import keeps its journal inside the archive (`prom-import.state`), finished or not.
    /// The name of a prom-import journal kept inside the archive (`prom-import.state`, or a part's), if any.
    public var importStateFile: String? { ((try? location.list("")) ?? []).sorted().first(where: ArchiveNaming.isImportStateFile) }

    /// Whether `prepareForWriting()` created the location itself.
    public private(set) var createdDirectory = false
    /// Whether this object wrote the archive's first manifest (a new archive, not a resumed one).
    public private(set) var createdManifest = false

    /// Prepares the location for writing: creates it when missing, takes the writers' lock so that
    /// two writers cannot interleave, then refuses a non-empty location that is not an archive.
    ///
    /// Invariant: nothing in the location is looked at, created or removed before the lock is held
    /// (only the location itself and the lock may be created first). A writer that loses the race for
    /// the lock therefore leaves everything as the winner has it, and `removeEmptyArchive()` does
    /// nothing without the lock.
    public func prepareForWriting() throws {
        createdDirectory = try location.create()
        try location.lockForWriting()
        let entries = try location.list("").filter { $0 != ArchiveNaming.lockFile }
        if try !entries.isEmpty && !hasManifest && !holdsOnlyAnUnfinishedStart(entries) {
            location.unlock()
            throw ArchiveStoreError(.notAnArchive, "\(root) is not empty and holds no \(ArchiveNaming.manifestFile); "
                + "choose an empty or new directory for the archive")
        }
        try location.makeFolder(ArchiveNaming.segmentsDirectory)
    }

    /// Whether `entries` (the top level's, lock aside) are only what a writer killed before its first
    /// manifest leaves: `segments/` holding nothing but segment files and temporary files, temporary
    /// manifest or checksum files, and a following importer's journal. Such a location is taken over
    /// as a new archive (its leftovers are orphans); anything else in it means it is not ours, and it
    /// is left untouched.
    private func holdsOnlyAnUnfinishedStart(_ entries: [String]) throws -> Bool {
        // A following prom-import may have put its journal beside the manifest of an export whose first read then failed.
        let ours: Set = [ArchiveNaming.segmentsDirectory, ArchiveNaming.manifestFile + ".tmp", ArchiveNaming.checksumsFile + ".tmp"]
        guard entries.allSatisfy({ ours.contains($0) || ArchiveNaming.isImportFile($0) }) else { return false }
        guard try location.entry(ArchiveNaming.segmentsDirectory) == .folder else { return !entries.contains(ArchiveNaming.segmentsDirectory) }
        return try location.list(ArchiveNaming.segmentsDirectory).allSatisfy { name in
            let path = ArchiveNaming.segmentsDirectory + "/" + name
            return ArchiveNaming.isValidSegmentPath(path) || (name.hasSuffix(".tmp") && ArchiveNaming.isValidSegmentPath(String(path.dropLast(4))))
        }
    }

    /// The text of `SHA256SUMS`, read like every archive file: never through a link, and bounded (it
    /// lists one line per segment, so the manifest's limit is ample); nil when it is missing.
    public func readChecksums() throws -> String? {
        guard let entry = try location.entry(ArchiveNaming.checksumsFile) else { return nil }
        if case .file(let size) = entry, size > Self.maxManifestBytes {
            throw ArchiveStoreError(.corrupt, "\(checksumsPath) is over \(Self.maxManifestBytes >> 20) MiB; the archive is damaged or not from promferry")
        }
        let bytes = try location.readWhole(ArchiveNaming.checksumsFile, limit: Self.maxManifestBytes)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ArchiveStoreError(.corrupt, "\(checksumsPath) is not UTF-8 text; the archive is damaged")
        }
        return text
    }

    /// Reads and validates `manifest.json`.
    public func readManifest() throws -> Manifest {
        guard case .file(let size) = try location.entry(ArchiveNaming.manifestFile) else {
            throw ArchiveStoreError(.missing, "\(manifestPath) is missing; \(root) is not a promferry archive")
        }
        if size > Self.maxManifestBytes {
            throw ArchiveStoreError(.corrupt, "\(manifestPath) is \(size) bytes, over the \(Self.maxManifestBytes >> 20) MiB limit for a "
                + "manifest; the archive is damaged or not from promferry")
        }
        let bytes = try location.readWhole(ArchiveNaming.manifestFile, limit: Self.maxManifestBytes)
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        } catch let error as DecodingError {
            if let (key, number) = JSONNumberCheck.firstUnrepresentable(in: bytes) {
                throw ArchiveStoreError(.corrupt, "\(manifestPath) is not a valid manifest: `\(key)` is \(number), which is not a whole "
                    + "number within the 64-bit integer range (counts must lie in 0...\(Manifest.maxCount)); the archive is damaged or not from promferry")
            }
            throw ArchiveStoreError(.corrupt, "\(manifestPath) is not a valid manifest: \(describe(error))")
        }
        do {
            try manifest.validate()
        } catch let error as ArchiveFormatError {
            throw ArchiveStoreError(error, prefix: root + "/")
        }
        return manifest
    }

    /// Makes `manifest` the archive's state: writes `manifest.json`, then `SHA256SUMS`.
    public func commit(_ manifest: Manifest) throws {
        try manifest.validate()
        if try !hasManifest { createdManifest = true }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = Array(try encoder.encode(manifest)) + [0x0A]
        try location.writeAtomically(json, to: ArchiveNaming.manifestFile)
        let manifestHash = ArchiveDigest.sha256(json)
        var lines = "\(manifestHash)  \(ArchiveNaming.manifestFile)\n"
        for segment in manifest.segments {
            lines += "\(segment.sha256)  \(segment.file)\n"
        }
        try location.writeAtomically(Array(lines.utf8), to: ArchiveNaming.checksumsFile)
    }

    /// Starts a segment file; it becomes part of the archive only through `commit(_:)` of a manifest listing it.
    public func createSegment(_ relativePath: String) throws -> SegmentFileWriter {
        SegmentFileWriter(relativePath: relativePath, writer: try location.create(relativePath))
    }

    /// Removes every file under `segments/` that `manifest` does not list (interrupted runs leave them).
    /// Returns the names removed. Only regular files are removed; anything else is reported.
    @discardableResult
    public func removeOrphans(keeping manifest: Manifest?) throws -> [String] {
        let listed = Set(manifest?.segments.map(\.file) ?? [])
        var removed: [String] = []
        for name in try location.list(ArchiveNaming.segmentsDirectory).sorted() {
            let relative = ArchiveNaming.segmentsDirectory + "/" + name
            if listed.contains(relative) { continue }
            guard case .file = try location.entry(relative) else {
                throw ArchiveStoreError(.corrupt, "\(path(of: relative)) is not a regular file; remove it by hand")
            }
            try location.remove(relative)
            removed.append(relative)
        }
        for leftover in [ArchiveNaming.manifestFile + ".tmp", ArchiveNaming.checksumsFile + ".tmp"] {
            if case .file = try location.entry(leftover) { try location.remove(leftover) }
        }
        return removed
    }

    /// Opens a listed segment for reading, refusing symlinks and anything that is not a regular file.
    public func openSegment(_ relativePath: String) throws -> FileByteSource {
        guard ArchiveNaming.isValidSegmentPath(relativePath) else {
            throw ArchiveStoreError(.corrupt, "segment path \"\(relativePath)\" is not inside \(segmentsPath)")
        }
        // A link in place of the folder would lead every read outside the archive (asked only where links can be).
        guard try !location.canHoldLinks || location.entry(ArchiveNaming.segmentsDirectory) == .folder else {
            throw ArchiveStoreError(.corrupt, "\(segmentsPath) is not a directory (symlinks are refused)")
        }
        let full = path(of: relativePath)
        guard let entry = try location.entry(relativePath) else {
            throw ArchiveStoreError(.missing, "\(full) is missing; the archive is incomplete (copy it again)")
        }
        guard case .file = entry else {
            throw ArchiveStoreError(.corrupt, "\(full) is not a regular file (symlinks are refused)")
        }
        return FileByteSource(path: full, reader: try location.open(relativePath))
    }

    /// The size of a listed file, when it is a regular file.
    public func size(of relativePath: String) throws -> Int? {
        if case .file(let bytes) = try location.entry(relativePath) { return bytes }
        return nil
    }

    private func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing key `\(parent.isEmpty ? "" : parent + ".")\(key.stringValue)`"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at `\(path(context))`: \(context.debugDescription)"
        case .dataCorrupted(let context):
            return "invalid JSON\(context.codingPath.isEmpty ? "" : " at `\(path(context))`"): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

@available(*, unavailable)
extension ArchiveDirectory: Sendable {}

/// Reads a file of an archive sequentially, hashing everything read so that the caller can compare
/// the SHA-256 with the manifest once the end is reached.
public struct FileByteSource: ByteSource {
    /// The file's full name, for messages.
    public let path: String
    private let reader: any LocationReader
    private var hasher = SHA256()
    public private(set) var bytesRead = 0

    init(path: String, reader: any LocationReader) {
        self.path = path
        self.reader = reader
    }

    public mutating func read(_ count: Int) throws -> [UInt8] {
        let bytes = try reader.read(count)
        hasher.update(data: bytes)
        bytesRead += bytes.count
        return bytes
    }

    /// SHA-256 of everything read so far, in lowercase hex.
    public func sha256() -> String {
        hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

extension ArchiveDirectory {
    /// Removes one file of the archive that no committed manifest lists yet.
    public func removeFile(_ relativePath: String) throws {
        guard ArchiveNaming.isValidSegmentPath(relativePath) else { return }
        if try location.entry(relativePath) != nil { try location.remove(relativePath) }
    }
}

extension ArchiveDirectory {
    /// Undoes the creation of an archive that never got a slab: removes the manifest, the checksums,
    /// the empty `segments/` folder, the lock, and the location itself when this run created it.
    /// Used when the first read fails, so that a corrected command can start afresh.
    /// Does nothing unless this object holds the lock: a writer that lost the race touches nothing.
    public func removeEmptyArchive() {
        guard location.holdsLock else { return }
        if createdManifest {
            try? location.remove(ArchiveNaming.manifestFile)
            try? location.remove(ArchiveNaming.checksumsFile)
        }
        location.unlock()
        location.removeFolderIfEmpty(ArchiveNaming.segmentsDirectory)
        if createdDirectory { location.removeIfEmpty() }
    }
}

/// SHA-256 in lowercase hex, as the manifest and SHA256SUMS write it.
public enum ArchiveDigest {
    public static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

extension ArchiveDirectory {
    /// Puts a segment of `source` into this archive under `relativePath`: a hard link when both are
    /// directories on one filesystem, else a durable copy. The bytes (and so the SHA-256) are
    /// unchanged. Like every segment, it belongs to the archive only once a committed manifest lists it.
    public func placeSegment(_ file: String, from source: ArchiveDirectory, as relativePath: String) throws {
        try location.place(file, from: source.location, as: relativePath)
    }
}

extension ArchiveDirectory {
    /// The first slab (by position in `manifest.slabs`) one of whose segment files is missing, is not a
    /// regular file, or does not have the size the manifest records, with what is wrong. Sizes only:
    /// cheap enough for every resume.
    public func firstSegmentProblem(_ manifest: Manifest) throws -> (slab: Int, problem: String)? {
        for (position, slab) in manifest.slabs.enumerated() {
            for segment in slab.segments {
                let full = path(of: segment.file)
                switch try location.entry(segment.file) {
                case nil:
                    return (position, "\(full) is missing")
                case .file(let size):
                    if size != segment.bytes { return (position, "\(full) has \(size) bytes, the manifest says \(segment.bytes)") }
                default:
                    return (position, "\(full) is not a regular file")
                }
            }
        }
        return nil
    }

    /// Whether a process holds the writers' lock (an export, split or merge at work on the archive),
    /// without taking it; nil where that cannot be told.
    public func writerHoldsLock() -> Bool? { location.writerHoldsLock() }
}
