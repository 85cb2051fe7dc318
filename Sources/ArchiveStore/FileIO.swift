import Glibc

/// Thin POSIX wrappers; every call goes through `check`, which retries EINTR and turns errno into
/// an `ArchiveStoreError` naming the path, so a full disk reads "No space left on device" with the file.
enum FileIO {
    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    static func failure(_ operation: String, _ path: String, _ code: Int32) -> ArchiveStoreError {
        if code == ENOSPC || code == EDQUOT {
            return ArchiveStoreError(.noSpace, "cannot \(operation) \(path): \(errorText(code)); free space on that "
                + "filesystem (or choose another directory), then re-run the same command to resume")
        }
        return ArchiveStoreError(.io, "cannot \(operation) \(path): \(errorText(code))")
    }

    @discardableResult
    static func check(_ operation: String, _ path: String, _ body: () -> Int32) throws -> Int32 {
        while true {
            let result = body()
            if result >= 0 { return result }
            if errno == EINTR { continue }
            throw failure(operation, path, errno)
        }
    }

    /// Opens a file at `path` without ever following a symlink at it (`O_NOFOLLOW`), and refuses anything but
    /// a regular file (or a directory when `O_DIRECTORY` is asked for): an archive from an untrusted
    /// party cannot make any tool read or write outside it, nor block on a FIFO.
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws -> Int32 {
        guard let fd = try openUnlessExists(path, flags, mode) else { throw failure("open", path, EEXIST) }
        return fd
    }

    /// The existing file at `path`, or a new one, opened read-write by the rules of `open`; and whether
    /// this call created it (a lock file is removed again only by its creator).
    static func openOrCreate(_ path: String) throws -> (fd: Int32, created: Bool) {
        if let fd = try openUnlessExists(path, O_RDWR | O_CREAT | O_EXCL) { return (fd, true) }
        return (try open(path, O_RDWR), false)
    }

    /// `open`, except that nil stands for EEXIST (with `O_CREAT | O_EXCL`).
    private static func openUnlessExists(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws -> Int32? {
        // Directories are opened only to fsync them; the archive's own root may be reached through a link.
        let noFollow = flags & O_DIRECTORY != 0 ? 0 : O_NOFOLLOW
        var fd: Int32
        repeat { fd = Glibc.open(path, flags | O_CLOEXEC | noFollow | O_NONBLOCK, mode) } while fd < 0 && errno == EINTR
        if fd < 0 {
            let code = errno
            if code == EEXIST && flags & O_EXCL != 0 && kind(path) != S_IFLNK { return nil }
            if code == ELOOP || kind(path) == S_IFLNK {
                throw ArchiveStoreError(.corrupt, "\(path) is a symbolic link; promferry never follows links in an archive "
                    + "(remove it, or copy the archive with links resolved)")
            }
            throw failure("open", path, code)
        }
        var info = stat()
        let expected = flags & O_DIRECTORY != 0 ? S_IFDIR : S_IFREG
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == expected else {
            Glibc.close(fd)
            throw ArchiveStoreError(.corrupt, "\(path) is not a regular file\(expected == S_IFDIR ? " but should be a directory" : ""); remove it by hand")
        }
        // Back to blocking I/O: O_NONBLOCK only kept a FIFO from blocking the open itself.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    /// Creates `path` anew as an empty regular file for writing. A leftover of an earlier run at that
    /// name (a file, or a symlink planted there) is removed first, never followed or written through.
    static func createTemporary(_ path: String) throws -> Int32 {
        if kind(path) != nil, Glibc.unlink(path) != 0, errno != ENOENT { throw failure("remove", path, errno) }
        return try open(path, O_WRONLY | O_CREAT | O_EXCL)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write", path, errno)
            }
            written += n
        }
    }

    /// Reads up to `count` bytes; fewer only at end of file.
    static func read(_ fd: Int32, _ count: Int, path: String) throws -> [UInt8] {
        // The buffer grows with what arrives (64 KiB, then doubling), so that a bound far above the
        // file's size (a manifest's 64 MiB) costs nothing: a buffer of the whole bound, zeroed, cost
        // tens of milliseconds per manifest read.
        var buffer: [UInt8] = []
        var step = min(count, 64 << 10)
        while buffer.count < count {
            let filled = buffer.count
            let want = min(step, count - filled)
            buffer += [UInt8](repeating: 0, count: want)
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, want) }
            if n < 0 {
                buffer.removeSubrange(filled...)
                if errno == EINTR { continue }
                throw failure("read", path, errno)
            }
            buffer.removeSubrange((filled + n)...)
            if n == 0 { break }
            if n == want { step = min(step * 2, 4 << 20) }
        }
        return buffer
    }

    static func fsync(_ fd: Int32, path: String) throws {
        try check("fsync", path) { Glibc.fsync(fd) }
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// Takes an exclusive `flock` on `fd`; false when another holder keeps it. A held lock is tried
    /// again for up to half a second first, because a lock can outlive its holder for a moment: a
    /// child process that a multithreaded process forks keeps a copy of every descriptor until its
    /// exec closes them (even with `O_CLOEXEC`), and a process that just finished may still be exiting.
    static func lockExclusively(_ fd: Int32) -> Bool {
        for attempt in 0..<25 {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            guard errno == EWOULDBLOCK || errno == EINTR, attempt < 24 else { return false }
            usleep(20_000)
        }
        return false
    }

    /// fsyncs a directory so that a rename inside it is durable.
    static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    static func rename(_ from: String, _ to: String) throws {
        try check("rename \(from) to", to) { Glibc.rename(from, to) }
    }

    static func unlink(_ path: String) throws {
        try check("remove", path) { Glibc.unlink(path) }
    }

    static func mkdir(_ path: String) throws {
        if Glibc.mkdir(path, 0o755) != 0 && errno != EEXIST { throw failure("create directory", path, errno) }
    }

    /// The kind of thing at `path` without following symlinks, or nil when nothing is there.
    static func kind(_ path: String) -> mode_t? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    static func size(_ path: String) -> Int? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw failure("list", path, errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync the directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String, directory: String) throws {
        let temporary = path + ".tmp"
        let fd = try createTemporary(temporary)
        do {
            try writeAll(fd, bytes, path: temporary)
            try fsync(fd, path: temporary)
        } catch {
            close(fd)
            _ = Glibc.unlink(temporary)
            throw error
        }
        close(fd)
        try rename(temporary, path)
        try fsyncDirectory(directory)
    }
}
