public import ArchiveFormat
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An archive directory on disk (`formats/archive-layout-v1.md`).
///
/// Durability rules:
/// - segments become visible under their final name only when complete (see `SegmentFileWriter`);
/// - `commit(_:)` writes `manifest.json`, then `SHA256SUMS`, each atomically (temp, fsync, rename,
///   fsync the directory). The manifest is the single source of truth: a segment file it does not
///   list is an orphan of an interrupted run and is removed on resume.
/// So whenever the process dies, the directory is a valid archive of the slabs the manifest lists.
public final class ArchiveDirectory {
    public let root: String
    /// The largest manifest read: bounds the memory any tool spends on an untrusted one.
    public static let maxManifestBytes = 64 << 20
    private var lockDescriptor: Int32 = -1
    private var createdLockFile = false

    public init(root: String) {
        var path = root
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.root = path
    }

    deinit {
        if lockDescriptor >= 0 { FileIO.close(lockDescriptor) }
    }

    public var manifestPath: String { root + "/" + ArchiveNaming.manifestFile }
    public var checksumsPath: String { root + "/" + ArchiveNaming.checksumsFile }
    public var segmentsPath: String { root + "/" + ArchiveNaming.segmentsDirectory }
    private var lockPath: String { root + "/" + ArchiveNaming.lockFile }

    public func path(of relative: String) -> String { root + "/" + relative }

    /// Whether the directory holds a manifest.
    public var hasManifest: Bool { FileIO.kind(manifestPath) == S_IFREG }

    /// Whether prom-import keeps its journal inside the archive (`prom-import.state`), finished or not.
    public var holdsImportState: Bool { FileIO.kind(path(of: ArchiveNaming.importStateFile)) != nil }

    /// Whether `prepareForWriting()` created the directory itself.
    public private(set) var createdDirectory = false
    /// Whether this object wrote the archive's first manifest (a new archive, not a resumed one).
    public private(set) var createdManifest = false

    /// Prepares the directory for writing: creates it when missing, takes an exclusive lock so that
    /// two writers cannot interleave, then refuses a non-empty directory that is not an archive.
    ///
    /// Invariant: nothing in the directory is looked at, created or removed before the lock is held
    /// (only the directory itself and the lock file may be created first). A writer that loses the
    /// race for the lock therefore leaves everything as the winner has it, and `removeEmptyArchive()`
    /// does nothing without the lock.
    public func prepareForWriting() throws {
        if let kind = FileIO.kind(root) {
            guard kind == S_IFDIR else {
                throw ArchiveStoreError(.notAnArchive, "\(root) exists and is not a directory; choose a directory path")
            }
        } else {
            // Two writers may both find the directory missing; only the one whose mkdir succeeds created it.
            if Glibc.mkdir(root, 0o755) == 0 {
                createdDirectory = true
            } else if errno != EEXIST {
                throw FileIO.failure("create directory", root, errno)
            }
            guard FileIO.kind(root) == S_IFDIR else {
                throw ArchiveStoreError(.notAnArchive, "\(root) exists and is not a directory; choose a directory path")
            }
        }
        try lock()
        let entries = try FileIO.listDirectory(root).filter { $0 != ArchiveNaming.lockFile }
        if try !entries.isEmpty && !hasManifest && !holdsOnlyAnUnfinishedStart(entries) {
            unlock()
            throw ArchiveStoreError(.notAnArchive, "\(root) is not empty and holds no \(ArchiveNaming.manifestFile); "
                + "choose an empty or new directory for the archive")
        }
        try FileIO.mkdir(segmentsPath)
        guard FileIO.kind(segmentsPath) == S_IFDIR else {
            throw ArchiveStoreError(.notAnArchive, "\(segmentsPath) is not a directory; the archive is damaged")
        }
    }

    /// Takes the exclusive lock on `.promferry.lock`, creating the file when missing. A symlink or
    /// anything else that is not a regular file at that name is refused, never followed.
    private func lock() throws {
        let (fd, created) = try FileIO.openOrCreate(lockPath)
        var opened = stat()
        var current = stat()
        _ = fstat(fd, &opened)
        // The lock counts only while the file still has this name: a writer that held it may have
        // removed it (an empty archive given up) between our open and our flock.
        guard flock(fd, LOCK_EX | LOCK_NB) == 0, lstat(lockPath, &current) == 0,
              current.st_ino == opened.st_ino, current.st_dev == opened.st_dev else {
            FileIO.close(fd)
            if created { _ = unlink(lockPath) }
            throw ArchiveStoreError(.locked, "\(root) is in use by another promferry process; wait for it to finish or stop it")
        }
        lockDescriptor = fd
        createdLockFile = created
    }

    /// Gives the lock up, removing the lock file when this object created it.
    private func unlock() {
        guard lockDescriptor >= 0 else { return }
        if createdLockFile { _ = unlink(lockPath) }
        FileIO.close(lockDescriptor)
        lockDescriptor = -1
    }

    /// Whether `entries` (the directory's, lock file aside) are only what a writer killed before its
    /// first manifest leaves: `segments/` holding nothing but segment files and temporary files,
    /// temporary manifest or checksum files, and a following importer's journal. Such a directory is taken over as a new archive (its
    /// leftovers are orphans); anything else in it means it is not ours, and it is left untouched.
    private func holdsOnlyAnUnfinishedStart(_ entries: [String]) throws -> Bool {
        // A following prom-import may have put its journal beside the manifest of an export whose first read then failed.
        let ours: Set = [ArchiveNaming.segmentsDirectory, ArchiveNaming.manifestFile + ".tmp", ArchiveNaming.checksumsFile + ".tmp",
                         ArchiveNaming.importStateFile, ArchiveNaming.importRejectsFile]
        guard entries.allSatisfy(ours.contains) else { return false }
        guard FileIO.kind(segmentsPath) == S_IFDIR else { return !entries.contains(ArchiveNaming.segmentsDirectory) }
        return try FileIO.listDirectory(segmentsPath).allSatisfy { name in
            let path = ArchiveNaming.segmentsDirectory + "/" + name
            return ArchiveNaming.isValidSegmentPath(path) || (name.hasSuffix(".tmp") && ArchiveNaming.isValidSegmentPath(String(path.dropLast(4))))
        }
    }

    /// The text of `SHA256SUMS`, read like every archive file: never through a link, and bounded (it
    /// lists one line per segment, so the manifest's limit is ample); nil when it is missing.
    public func readChecksums() throws -> String? {
        guard FileIO.kind(checksumsPath) != nil else { return nil }
        let fd = try FileIO.open(checksumsPath, O_RDONLY)
        defer { FileIO.close(fd) }
        let bytes = try FileIO.read(fd, Self.maxManifestBytes + 1, path: checksumsPath)
        guard bytes.count <= Self.maxManifestBytes else {
            throw ArchiveStoreError(.corrupt, "\(checksumsPath) is over \(Self.maxManifestBytes >> 20) MiB; the archive is damaged or not from promferry")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ArchiveStoreError(.corrupt, "\(checksumsPath) is not UTF-8 text; the archive is damaged")
        }
        return text
    }

    /// Reads and validates `manifest.json`.
    public func readManifest() throws -> Manifest {
        guard FileIO.kind(manifestPath) == S_IFREG else {
            throw ArchiveStoreError(.missing, "\(manifestPath) is missing; \(root) is not a promferry archive")
        }
        let fd = try FileIO.open(manifestPath, O_RDONLY)
        defer { FileIO.close(fd) }
        if let size = FileIO.size(manifestPath), size > Self.maxManifestBytes {
            throw ArchiveStoreError(.corrupt, "\(manifestPath) is \(size) bytes, over the \(Self.maxManifestBytes >> 20) MiB limit for a "
                + "manifest; the archive is damaged or not from promferry")
        }
        let bytes = try FileIO.read(fd, Self.maxManifestBytes, path: manifestPath)
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
        if !hasManifest { createdManifest = true }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = Array(try encoder.encode(manifest)) + [0x0A]
        try FileIO.writeAtomically(json, to: manifestPath, directory: root)
        let manifestHash = ArchiveDigest.sha256(json)
        var lines = "\(manifestHash)  \(ArchiveNaming.manifestFile)\n"
        for segment in manifest.segments {
            lines += "\(segment.sha256)  \(segment.file)\n"
        }
        try FileIO.writeAtomically(Array(lines.utf8), to: checksumsPath, directory: root)
    }

    /// Starts a segment file; it becomes part of the archive only through `commit(_:)` of a manifest listing it.
    public func createSegment(_ relativePath: String) throws -> SegmentFileWriter {
        try SegmentFileWriter(archiveRoot: root, relativePath: relativePath)
    }

    /// Removes every file under `segments/` that `manifest` does not list (interrupted runs leave them).
    /// Returns the names removed. Only regular files are removed; anything else is reported.
    @discardableResult
    public func removeOrphans(keeping manifest: Manifest?) throws -> [String] {
        let listed = Set(manifest?.segments.map(\.file) ?? [])
        var removed: [String] = []
        for name in try FileIO.listDirectory(segmentsPath) {
            let relative = ArchiveNaming.segmentsDirectory + "/" + name
            if listed.contains(relative) { continue }
            guard FileIO.kind(path(of: relative)) == S_IFREG else {
                throw ArchiveStoreError(.corrupt, "\(path(of: relative)) is not a regular file; remove it by hand")
            }
            try FileIO.unlink(path(of: relative))
            removed.append(relative)
        }
        for leftover in [manifestPath + ".tmp", checksumsPath + ".tmp"] where FileIO.kind(leftover) == S_IFREG {
            try FileIO.unlink(leftover)
        }
        return removed
    }

    /// Opens a listed segment for reading, refusing symlinks and anything that is not a regular file.
    public func openSegment(_ relativePath: String) throws -> FileByteSource {
        guard ArchiveNaming.isValidSegmentPath(relativePath) else {
            throw ArchiveStoreError(.corrupt, "segment path \"\(relativePath)\" is not inside \(segmentsPath)")
        }
        // A link in place of the folder would lead every read outside the archive.
        guard FileIO.kind(segmentsPath) == S_IFDIR else {
            throw ArchiveStoreError(.corrupt, "\(segmentsPath) is not a directory (symlinks are refused)")
        }
        let full = path(of: relativePath)
        guard let kind = FileIO.kind(full) else {
            throw ArchiveStoreError(.missing, "\(full) is missing; the archive is incomplete (copy it again)")
        }
        guard kind == S_IFREG else {
            throw ArchiveStoreError(.corrupt, "\(full) is not a regular file (symlinks are refused)")
        }
        return try FileByteSource(path: full)
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

/// Reads a file sequentially, hashing everything read so that the caller can compare the SHA-256
/// with the manifest once the end is reached.
public struct FileByteSource: ByteSource {
    public let path: String
    private let handle: Handle
    private var hasher = SHA256()
    public private(set) var bytesRead = 0

    /// Owns the descriptor so that copies of the struct share one file position and one close.
    final class Handle {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        deinit { FileIO.close(fd) }
    }

    init(path: String) throws {
        self.path = path
        self.handle = Handle(fd: try FileIO.open(path, O_RDONLY | O_NOFOLLOW))
    }

    public mutating func read(_ count: Int) throws -> [UInt8] {
        let bytes = try FileIO.read(handle.fd, count, path: path)
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
        if FileIO.kind(path(of: relativePath)) != nil { try FileIO.unlink(path(of: relativePath)) }
    }
}

extension ArchiveDirectory {
    /// Undoes the creation of an archive that never got a slab: removes the manifest, the checksums,
    /// the empty `segments/` folder, the lock file, and the directory itself when this run created it.
    /// Used when the first read fails, so that a corrected command can start afresh.
    /// Does nothing unless this object holds the lock: a writer that lost the race touches nothing.
    public func removeEmptyArchive() {
        guard lockDescriptor >= 0 else { return }
        if createdManifest { _ = unlink(manifestPath); _ = unlink(checksumsPath) }
        _ = unlink(lockPath)
        _ = rmdir(segmentsPath)
        if createdDirectory { _ = rmdir(root) }
    }
}

/// SHA-256 in lowercase hex, as the manifest and SHA256SUMS write it.
public enum ArchiveDigest {
    public static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

extension ArchiveDirectory {
    /// Puts an existing segment file into this archive under `relativePath`: a hard link when both are on
    /// one filesystem, else a durable copy. The bytes (and so the SHA-256) are unchanged. Like every
    /// segment, it belongs to the archive only once a committed manifest lists it.
    public func placeSegment(from sourcePath: String, as relativePath: String) throws {
        let destination = path(of: relativePath)
        if FileIO.kind(sourcePath) != S_IFREG {
            throw ArchiveStoreError(.missing, "\(sourcePath) is missing or not a regular file")
        }
        if link(sourcePath, destination) == 0 {
            try FileIO.fsyncDirectory(segmentsPath)
            return
        }
        guard errno == EXDEV || errno == EPERM || errno == EMLINK else {
            throw FileIO.failure("link \(sourcePath) to", destination, errno)
        }
        let input = try FileIO.open(sourcePath, O_RDONLY)
        defer { FileIO.close(input) }
        let writer = try SegmentFileWriter(archiveRoot: root, relativePath: relativePath)
        while true {
            let chunk = try FileIO.read(input, 1 << 20, path: sourcePath)
            if chunk.isEmpty { break }
            try writer.write(chunk)
        }
        _ = try writer.commit()
    }
}

extension ArchiveDirectory {
    /// The first slab (by position in `manifest.slabs`) one of whose segment files is missing, is not a
    /// regular file, or does not have the size the manifest records, with what is wrong. Sizes only:
    /// cheap enough for every resume.
    public func firstSegmentProblem(_ manifest: Manifest) -> (slab: Int, problem: String)? {
        for (position, slab) in manifest.slabs.enumerated() {
            for segment in slab.segments {
                let full = path(of: segment.file)
                switch FileIO.kind(full) {
                case nil:
                    return (position, "\(full) is missing")
                case S_IFREG:
                    let size = FileIO.size(full) ?? -1
                    if size != segment.bytes { return (position, "\(full) has \(size) bytes, the manifest says \(segment.bytes)") }
                default:
                    return (position, "\(full) is not a regular file")
                }
            }
        }
        return nil
    }
}

extension ArchiveDirectory {
    /// Whether `path` is a symbolic link (not followed).
    public static func isSymbolicLink(_ path: String) -> Bool { FileIO.kind(path) == S_IFLNK }
}

extension ArchiveDirectory {
    /// Whether a process holds the writers' lock (an export, split or merge at work on the archive),
    /// read from `/proc/locks` so that looking takes no lock and cannot make a starting writer fail.
    /// nil where that cannot be told (no `/proc`).
    public func writerHoldsLock() -> Bool? {
        var info = stat()
        guard lstat(lockPath, &info) == 0 else { return false }
        guard let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        let device = UInt64(info.st_dev)
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
        let minor = (device & 0xff) | ((device >> 12) & ~0xff)
        func hex(_ value: UInt64) -> String { let text = String(value, radix: 16); return text.count < 2 ? "0" + text : text }
        let id = "\(hex(major)):\(hex(minor)):\(info.st_ino)"
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.contains("FLOCK") && !fields.contains("->") && fields.contains { $0 == id }
        }
    }
}
