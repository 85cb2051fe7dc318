import Glibc

/// A new file written front to back through a buffer, then made durable: what every file of a block
/// being written goes through. Errors name the file; a full disk says so and what to do.
final class OutputFile {
    let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferBytes = 1 << 20
    /// Bytes written so far, buffered ones included: the offset of the next byte.
    private(set) var position = 0

    /// Creates the file; one already at `path` is an error (a block's files are only ever new).
    init(path: String) throws {
        var fd: Int32
        repeat { fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw OutputFile.failure("create", path, errno) }
        self.path = path
        self.fd = fd
        buffer.reserveCapacity(bufferBytes)
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    static func failure(_ operation: String, _ path: String, _ code: Int32) -> TSDBError {
        let text = String(cString: strerror(code))
        if code == ENOSPC || code == EDQUOT {
            return TSDBError(.io, "cannot \(operation) \(path): \(text); free space there (or choose another output directory), "
                + "then re-run the same command: finished blocks are kept, the unfinished one is written again")
        }
        return TSDBError(.io, "cannot \(operation) \(path): \(text)")
    }

    func write<Bytes: Collection>(_ bytes: Bytes) throws where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        position += bytes.count
        if buffer.count >= bufferBytes { try flush() }
    }

    /// Zero bytes up to the next multiple of `alignment`.
    func pad(to alignment: Int) throws {
        let remainder = position % alignment
        if remainder != 0 { try write(repeatElement(UInt8(0), count: alignment - remainder)) }
    }

    func flush() throws {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, buffer.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw OutputFile.failure("write", path, n < 0 ? errno : EIO) }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered, fsyncs and closes the file.
    func close() throws {
        try flush()
        guard fsync(fd) == 0 else { throw OutputFile.failure("fsync", path, errno) }
        Glibc.close(fd)
        fd = -1
    }

    /// fsync of a directory, so that the names created in it are durable.
    static func syncDirectory(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path, errno) }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw failure("fsync", path, errno) }
    }
}
