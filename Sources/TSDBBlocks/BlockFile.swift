import Glibc
import PrometheusWire

/// One file of a block, opened read-only for the life of the source and read with `pread` only, so
/// that any number of reads may share it, and a block that Prometheus deletes meanwhile (after a
/// compaction) stays readable through the open descriptor.
///
/// Nothing is mapped into memory: a file truncated under the reader gives an error, not SIGBUS.
final class BlockFile: Sendable {
    let path: String
    let size: Int
    private let fd: Int32

    init(path: String) throws {
        var fd: Int32
        // O_NONBLOCK: a FIFO under a block's file name must not hang the open; it is refused below as not a regular file.
        repeat { fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw TSDBError.cannotOpen(path, errno) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(fd)
            throw TSDBError(.corrupt, "\(path) is not a regular file")
        }
        self.path = path
        self.fd = fd
        self.size = Int(info.st_size)
    }

    deinit { Glibc.close(fd) }

    /// Exactly `count` bytes at `offset`; fewer available (the file ends, or shrank) is an error.
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw TSDBError(.corrupt, "\(path): \(count) bytes at offset \(offset) lie beyond its end (\(size) bytes); the file is truncated or corrupt")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw TSDBError(n == 0 ? .corrupt : .io, "cannot read \(path) at offset \(offset + done): "
                    + (n == 0 ? "the file ends early (did it shrink while being read?)" : String(cString: strerror(errno))))
            }
            done += n
        }
        return bytes
    }
}

/// Reads of one file that mostly move forward (a block's series entries in index order, the chunks
/// they name), served from one window of at most `windowBytes`: neighbouring reads cost one `pread`
/// between them, not one each. Memory: one window, whatever the file's size.
struct FileWindow {
    let file: BlockFile
    private let windowBytes: Int
    private var window: [UInt8] = []
    private var windowStart = 0

    /// Each cursor over a block holds two windows (series entries, chunks), and a read holds a cursor
    /// for every block it overlaps: 16 KiB keeps even a directory of hundreds of small overlapping
    /// blocks within a few MiB per read, while a window still serves about a hundred chunks.
    static let defaultBytes = 16 << 10

    init(file: BlockFile, windowBytes: Int = FileWindow.defaultBytes) {
        self.file = file
        self.windowBytes = windowBytes
    }

    /// Exactly `count` bytes at `offset`; past the file's end is an error naming the file.
    mutating func bytes(at offset: Int, count: Int) throws -> ArraySlice<UInt8> {
        if offset < windowStart || offset + count > windowStart + window.count {
            // Reads beyond the end are refused by `read`, with the file named.
            let length = offset >= 0 && offset <= file.size ? max(count, min(windowBytes, file.size - offset)) : count
            window = try file.read(at: offset, count: length)
            windowStart = offset
        }
        let from = offset - windowStart
        return window[from..<(from + count)]
    }

    /// At most `count` bytes at `offset`: fewer where the file ends.
    mutating func bytes(at offset: Int, upTo count: Int) throws -> ArraySlice<UInt8> {
        try bytes(at: offset, count: max(0, min(count, file.size - offset)))
    }

    /// A record as blocks store series entries and chunks: a uvarint length of at most `lengthBytes`
    /// bytes, then `length + extra` bytes (a chunk's encoding byte is its `extra` 1), then their
    /// big-endian CRC32C. Returns those bytes once the CRC matches. `context` names the file and the
    /// record in every error, and is built only for one.
    mutating func checkedRecord(at offset: Int, lengthBytes: Int, extra: Int, maxLength: Int,
                                context: @escaping () -> String) throws -> ArraySlice<UInt8> {
        let lengthField = try bytes(at: offset, upTo: lengthBytes)
        var head = BytesReader(lengthField, context: context)
        let length = try head.count(atMost: maxLength)
        let headerBytes = head.position - lengthField.startIndex
        let total = headerBytes + length + extra + 4
        guard total <= file.size - offset else {
            throw TSDBError(.corrupt, "\(context()) claims \(length) bytes, more than the file holds")
        }
        let record = try bytes(at: offset, count: total)
        let body = record[(record.startIndex + headerBytes)..<(record.endIndex - 4)]
        guard CRC32C.checksum(body) == BinaryDecoding.bigEndian32(record[body.endIndex...]) else {
            throw TSDBError(.corrupt, "\(context()) fails its CRC32C; the block is damaged")
        }
        return body
    }
}

/// A forward cursor over `[position, end)` of a file through a window of at most `windowBytes`: it
/// is how every index section is scanned, so memory never holds more than one window of a section
/// whatever its size. Any read past `end` is a corrupt section.
struct WindowCursor {
    let file: BlockFile
    private(set) var position: Int
    let end: Int
    private var window: [UInt8] = []
    private var windowStart = 0
    private let windowBytes: Int
    /// Names the section in messages.
    let section: String

    init(file: BlockFile, from position: Int, to end: Int, section: String, windowBytes: Int = 64 << 10) {
        self.file = file
        self.position = position
        self.end = min(end, file.size)
        self.section = section
        self.windowBytes = windowBytes
    }

    var remaining: Int { end - position }

    private mutating func fill(_ count: Int) throws {
        guard count <= end - position else {
            throw TSDBError(.corrupt, "\(file.path): the \(section) ends early (at offset \(end), \(count) bytes wanted at \(position))")
        }
        if position >= windowStart && position + count <= windowStart + window.count { return }
        let length = min(max(windowBytes, count), end - position)
        window = try file.read(at: position, count: length)
        windowStart = position
    }

    mutating func byte() throws -> UInt8 {
        try fill(1)
        defer { position += 1 }
        return window[position - windowStart]
    }

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        try fill(count)
        defer { position += count }
        let from = position - windowStart
        return Array(window[from..<from + count])
    }

    mutating func skip(_ count: Int) throws {
        guard count <= end - position else {
            throw TSDBError(.corrupt, "\(file.path): the \(section) ends early (at offset \(end), skipping \(count) bytes at \(position))")
        }
        position += count
    }

    mutating func be32() throws -> UInt32 {
        try fill(4)
        defer { position += 4 }
        let i = position - windowStart
        return BinaryDecoding.bigEndian32(window[i..<(i + 4)])
    }

    mutating func uvarint() throws -> UInt64 {
        guard let value = try BinaryDecoding.uvarint({ try byte() }) else {
            throw TSDBError(.corrupt, "\(file.path): a varint in the \(section) overflows 64 bits (offset \(position))")
        }
        return value
    }

    /// A uvarint that must fit `limit`, e.g. a length that cannot exceed what is left of the section.
    mutating func length(atMost limit: Int, _ what: String) throws -> Int {
        let value = try uvarint()
        guard value <= UInt64(max(0, limit)) else {
            throw TSDBError(.corrupt, "\(file.path): \(what) \(value) in the \(section) exceeds \(limit) (offset \(position))")
        }
        return Int(value)
    }
}

extension BlockFile {
    /// A big-endian u32 at `offset`.
    func be32(at offset: Int) throws -> UInt32 {
        BinaryDecoding.bigEndian32(try read(at: offset, count: 4))
    }
}
