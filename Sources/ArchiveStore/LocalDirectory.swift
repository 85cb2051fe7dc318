import ArchiveFormat
import FoundationEssentials
import Glibc

/// An archive location on a local filesystem: a directory.
///
/// Atomic writes go to `NAME.tmp`, are fsynced, renamed and the directory fsynced. Every open uses
/// `O_NOFOLLOW` and refuses anything but a regular file (`FileIO.open`), so an archive from an
/// untrusted party cannot make a tool read or write outside it. The writers' lock is `flock(2)` on
/// `.promferry.lock`.
public final class LocalDirectory: ArchiveLocation {
    public let root: String
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

    public func exists() throws -> Bool {
        guard let kind = FileIO.kind(root) else { return false }
        guard kind == S_IFDIR else {
            throw ArchiveStoreError(.notAnArchive, "\(root) exists and is not a directory; choose a directory path")
        }
        return true
    }

    public func create() throws -> Bool {
        if try exists() { return false }
        // Two writers may both find the directory missing; only the one whose mkdir succeeds created it.
        var created = false
        if Glibc.mkdir(root, 0o755) == 0 {
            created = true
        } else if errno != EEXIST {
            throw FileIO.failure("create directory", root, errno)
        }
        guard try exists() else { throw ArchiveStoreError(.notAnArchive, "\(root) could not be created as a directory") }
        return created
    }

    public func removeIfEmpty() { _ = rmdir(root) }

    public func entry(_ name: String) -> LocationEntry? {
        let full = path(of: name)
        var info = stat()
        guard lstat(full, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file(bytes: Int(info.st_size))
        case S_IFDIR: return .folder
        case S_IFLNK: return .link
        default: return .other
        }
    }

    public func list(_ folder: String) throws -> [String] { try FileIO.listDirectory(path(of: folder)) }

    public func makeFolder(_ name: String) throws {
        try FileIO.mkdir(path(of: name))
        guard entry(name) == .folder else {
            throw ArchiveStoreError(.notAnArchive, "\(path(of: name)) is not a directory; the archive is damaged")
        }
    }

    public func removeFolderIfEmpty(_ name: String) { _ = rmdir(path(of: name)) }

    public func open(_ name: String) throws -> any LocationReader { try FileReader(path: path(of: name)) }

    public func writeAtomically(_ bytes: [UInt8], to name: String) throws {
        let full = path(of: name)
        let slash = full.lastIndex(of: "/").map { String(full[..<$0]) } ?? "."
        try FileIO.writeAtomically(bytes, to: full, directory: slash)
    }

    public func create(_ name: String) throws -> any LocationWriter { try FileWriter(path: path(of: name)) }

    public func remove(_ name: String) throws {
        if FileIO.kind(path(of: name)) != nil { try FileIO.unlink(path(of: name)) }
    }

    /// A hard link when both are directories on one filesystem, else a durable copy.
    public func place(_ name: String, from source: any ArchiveLocation, as newName: String) throws {
        let destination = path(of: newName)
        if let local = source as? LocalDirectory {
            let origin = local.path(of: name)
            guard FileIO.kind(origin) == S_IFREG else {
                throw ArchiveStoreError(.missing, "\(origin) is missing or not a regular file")
            }
            if link(origin, destination) == 0 {
                let folder = destination.lastIndex(of: "/").map { String(destination[..<$0]) } ?? root
                try FileIO.fsyncDirectory(folder)
                return
            }
            guard errno == EXDEV || errno == EPERM || errno == EMLINK else {
                throw FileIO.failure("link \(origin) to", destination, errno)
            }
        }
        try copy(name, from: source, as: newName, chunkBytes: 1 << 20)
    }

    private var lockPath: String { path(of: ArchiveNaming.lockFile) }

    /// Takes the exclusive lock on `.promferry.lock`, creating the file when missing. A symlink or
    /// anything else that is not a regular file at that name is refused, never followed.
    public func lockForWriting() throws {
        let (fd, created) = try FileIO.openOrCreate(lockPath)
        var opened = stat()
        var current = stat()
        _ = fstat(fd, &opened)
        // The lock counts only while the file still has this name: a writer that held it may have
        // removed it (an empty archive given up) between our open and our flock.
        guard FileIO.lockExclusively(fd), lstat(lockPath, &current) == 0,
              current.st_ino == opened.st_ino, current.st_dev == opened.st_dev else {
            FileIO.close(fd)
            if created { _ = Glibc.unlink(lockPath) }
            throw ArchiveStoreError(.locked, "\(root) is in use by another promferry process; wait for it to finish or stop it")
        }
        lockDescriptor = fd
        createdLockFile = created
    }

    public func unlock() {
        guard lockDescriptor >= 0 else { return }
        if createdLockFile { _ = Glibc.unlink(lockPath) }
        FileIO.close(lockDescriptor)
        lockDescriptor = -1
    }

    public var holdsLock: Bool { lockDescriptor >= 0 }

    public var canHoldLinks: Bool { true }

    /// Read from `/proc/locks`, so that looking takes no lock and cannot make a starting writer fail.
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

/// A regular file read front to back, opened without following links.
final class FileReader: LocationReader {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = try FileIO.open(path, O_RDONLY | O_NOFOLLOW)
    }

    deinit { FileIO.close(fd) }

    func read(_ count: Int) throws -> [UInt8] { try FileIO.read(fd, count, path: path) }
}

/// A new file written as `NAME.tmp` and renamed into place by `commit()` (fsync, rename, fsync of the
/// directory), so that under its name it is always complete. A leftover temporary file of an
/// earlier run is replaced, never followed.
final class FileWriter: LocationWriter {
    private let finalPath: String
    private let temporaryPath: String
    private let directory: String
    private var fd: Int32

    init(path: String) throws {
        finalPath = path
        temporaryPath = path + ".tmp"
        directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        fd = try FileIO.createTemporary(temporaryPath)
    }

    deinit { abandon() }

    func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        try FileIO.writeAll(fd, bytes, path: temporaryPath)
    }

    func commit() throws {
        try FileIO.fsync(fd, path: temporaryPath)
        FileIO.close(fd)
        fd = -1
        try FileIO.rename(temporaryPath, finalPath)
        try FileIO.fsyncDirectory(directory)
    }

    func abandon() {
        guard fd >= 0 else { return }
        FileIO.close(fd)
        fd = -1
        _ = Glibc.unlink(temporaryPath)
    }
}
