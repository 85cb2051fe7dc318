import ArchiveFormat
import Crypto

/// Writes one segment file durably and hashes it on the way.
///
/// Invariant: the file appears under its name only after `commit()`, which makes it durable in one
/// step (`LocationWriter`); until then at most a temporary file exists, which resume removes. A
/// committed segment is therefore always complete.
public final class SegmentFileWriter {
    public let relativePath: String
    private let writer: any LocationWriter
    private var hasher = SHA256()
    private var open = true
    public private(set) var bytesWritten = 0

    init(relativePath: String, writer: any LocationWriter) {
        self.relativePath = relativePath
        self.writer = writer
    }

    deinit {
        if open { writer.abandon() }
    }

    public func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        try writer.write(bytes)
        hasher.update(data: bytes)
        bytesWritten += bytes.count
    }

    /// Makes the segment durable under its final name; returns its SHA-256 in lowercase hex.
    public func commit() throws -> String {
        try writer.commit()
        open = false
        return hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Removes the temporary file (e.g. after an error).
    public func abandon() {
        guard open else { return }
        writer.abandon()
        open = false
    }
}

@available(*, unavailable)
extension SegmentFileWriter: Sendable {}
