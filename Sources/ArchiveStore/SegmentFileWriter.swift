import ArchiveFormat
import Crypto
#if canImport(Glibc)
import Glibc
#endif

/// Writes one segment file durably and hashes it on the way.
///
/// Invariant: the final name appears only after `commit()`, which fsyncs the file, renames it from
/// its `.tmp` name and fsyncs the directory; until then only a temporary file exists, which resume
/// removes. A committed segment is therefore always complete.
public final class SegmentFileWriter {
    public let relativePath: String
    private let finalPath: String
    private let temporaryPath: String
    private let directory: String
    private var fd: Int32
    private var hasher = SHA256()
    public private(set) var bytesWritten = 0

    init(archiveRoot: String, relativePath: String) throws {
        self.relativePath = relativePath
        self.finalPath = archiveRoot + "/" + relativePath
        self.temporaryPath = finalPath + ".tmp"
        self.directory = archiveRoot + "/" + ArchiveNaming.segmentsDirectory
        self.fd = try FileIO.createTemporary(temporaryPath)
    }

    deinit {
        if fd >= 0 {
            FileIO.close(fd)
            _ = unlink(temporaryPath)
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        try FileIO.writeAll(fd, bytes, path: temporaryPath)
        hasher.update(data: bytes)
        bytesWritten += bytes.count
    }

    /// Makes the segment durable under its final name; returns its SHA-256 in lowercase hex.
    public func commit() throws -> String {
        try FileIO.fsync(fd, path: temporaryPath)
        FileIO.close(fd)
        fd = -1
        try FileIO.rename(temporaryPath, finalPath)
        try FileIO.fsyncDirectory(directory)
        return hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Removes the temporary file (e.g. after an error).
    public func abandon() {
        guard fd >= 0 else { return }
        FileIO.close(fd)
        fd = -1
        _ = unlink(temporaryPath)
    }
}

@available(*, unavailable)
extension SegmentFileWriter: Sendable {}
