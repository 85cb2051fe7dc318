public import ArchiveFormat
#if canImport(Glibc)
import Glibc
#endif

/// An append-only file of lines, each made durable (fsync) before `append` returns, and held with an
/// exclusive lock so that two processes never write one journal.
///
/// Reading tolerates a torn last line (the process died mid-write): it is dropped, and the next
/// append starts on a fresh line.
public final class JournalFile {
    public let path: String
    /// -1 once closed.
    private var fd: Int32

    /// Opens (creating if needed) and locks the file.
    /// - Throws: `ArchiveStoreError` with `.locked` when another process holds it, `.io` when it cannot be
    ///   created (e.g. read-only media).
    public init(path: String) throws {
        self.path = path
        fd = try FileIO.open(path, O_RDWR | O_CREAT | O_APPEND)
        if !FileIO.lockExclusively(fd) {
            FileIO.close(fd)
            throw ArchiveStoreError(.locked, "\(path) is in use by another prom-import; wait for it to finish or stop it")
        }
    }

    deinit { close() }

    /// Closes the file, releasing its lock at once (not whenever the last reference goes). No
    /// `SyncHandle` may be in use, and nothing may be read or written afterwards.
    public func close() {
        guard fd >= 0 else { return }
        FileIO.close(fd)
        fd = -1
    }

    /// Every complete line in the file.
    public func lines() throws -> [String] {
        var bytes: [UInt8] = []
        var offset: off_t = 0
        while true {
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0 { throw FileIO.failure("read", path, errno) }
            if n == 0 { break }
            bytes += chunk.prefix(n)
            offset += off_t(n)
        }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let torn = lines.removeLast()  // after the last newline: empty, or a torn line
        if !torn.isEmpty { try FileIO.writeAll(fd, [0x0A], path: path) }
        return lines.filter { !$0.isEmpty }
    }

    /// Appends one line and makes it durable.
    public func append(_ line: String) throws {
        try write(line)
        try FileIO.fsync(fd, path: path)
    }

    /// Appends one line without waiting for it to be durable: it is once a `SyncHandle.sync()` that
    /// began after this returned has completed (group commit: one fsync for every line written so far).
    public func write(_ line: String) throws {
        try FileIO.writeAll(fd, Array(line.utf8) + [0x0A], path: path)
    }

    /// What fsyncs this file from another thread; valid while the file is open.
    public var syncHandle: SyncHandle { SyncHandle(fd: fd, path: path) }

    public struct SyncHandle: Sendable {
        let fd: Int32
        let path: String

        /// Makes every line written before this call durable. Blocks: call it off the cooperative pool.
        public func sync() throws {
            try FileIO.fsync(fd, path: path)
        }
    }
}

@available(*, unavailable)
extension JournalFile: Sendable {}

extension ArchiveDirectory {
    /// Checks a segment's size and SHA-256 against its manifest entry without decoding it.
    public func verifyChecksum(_ entry: Manifest.SegmentEntry) throws {
        let full = path(of: entry.file)
        var source = try openSegment(entry.file)
        while try !source.read(1 << 20).isEmpty {}
        guard source.bytesRead == entry.bytes, source.sha256() == entry.sha256 else {
            throw ArchiveStoreError(.corrupt, "\(full): \(source.bytesRead) bytes with SHA-256 \(source.sha256()), but "
                + "manifest.json says \(entry.bytes) bytes with \(entry.sha256); the file is corrupt or truncated "
                + "(copy it again or re-export its slab)")
        }
    }
}
