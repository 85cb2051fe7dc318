import PrometheusWire

/// A block's `chunks/` directory: segment files `000001`, `000002`, … (Prometheus'
/// `tsdb/docs/format/chunks.md`), each opened once with its header checked.
///
/// A chunk reference is the segment's sequence number (0 for `000001`) in its upper 32 bits and the
/// offset in that file in its lower 32. Every chunk read is checked against its CRC32C.
final class ChunkFiles: Sendable {
    static let magic: UInt32 = 0x85BD_40DD
    static let headerBytes = 8
    /// Prometheus cuts chunks at about 1 KiB (histograms may exceed that for a few huge samples);
    /// anything near this is damage, not data.
    static let maxChunkBytes = 16 << 20

    let directory: String
    private let segments: [BlockFile]
    var segmentCount: Int { segments.count }

    init(directory: String) throws {
        self.directory = directory
        guard FileCheck.isDirectory(directory) else {
            throw TSDBError(.corrupt, "\(directory) is missing or not a directory; a block keeps its chunks there")
        }
        let names = try FileCheck.listing(directory)
        let numbered = names.compactMap { name in name.count == 6 ? Int(name).map { ($0, name) } : nil }.sorted { $0.0 < $1.0 }
        for (i, (number, name)) in numbered.enumerated() where number != i + 1 {
            throw TSDBError(.corrupt, "\(directory): chunk segment \(name) is out of sequence (expected \(Self.segmentName(i + 1))); "
                + "the block is incomplete")
        }
        segments = try numbered.map { _, name in
            let file = try BlockFile(path: directory + "/" + name)
            guard file.size >= Self.headerBytes, try file.be32(at: 0) == Self.magic else {
                throw TSDBError(.corrupt, "\(file.path) does not start with the chunks magic 0x85BD40DD")
            }
            let version = try file.read(at: 4, count: 1)[0]
            guard version == 1 else {
                throw TSDBError(.unsupported, "\(file.path) is chunks format version \(version); this reader knows version 1")
            }
            return file
        }
    }

    /// `000001` for 1: how Prometheus names segment files.
    static func segmentName(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Where one reader of this block's chunks stands: a window over the segment file it read last.
    /// Chunks are read in the index's order, which is the order they were written in, so most reads
    /// are served by the window.
    struct Cursor {
        fileprivate var window: FileWindow?

        init() {}
    }

    /// The encoding and data of the chunk at `ref`, after its CRC32C was checked.
    func chunk(_ ref: UInt64, cursor: inout Cursor) throws -> (encoding: UInt8, data: ArraySlice<UInt8>) {
        let sequence = Int(ref >> 32)
        let offset = Int(ref & 0xFFFF_FFFF)
        guard sequence < segments.count else {
            throw TSDBError(.corrupt, "\(directory): a chunk reference names segment \(Self.segmentName(sequence + 1)), "
                + "but the block has \(segments.count)")
        }
        let file = segments[sequence]
        guard offset >= Self.headerBytes, offset < file.size else {
            throw TSDBError(.corrupt, "\(file.path): a chunk reference points at offset \(offset), outside the file")
        }
        if cursor.window?.file !== file { cursor.window = FileWindow(file: file) }
        // The length is a uvarint of at most 5 bytes (Go's MaxVarintLen32); the encoding byte follows it.
        let body = try cursor.window!.checkedRecord(at: offset, lengthBytes: 5, extra: 1, maxLength: Self.maxChunkBytes,
                                                    context: { "\(file.path): the chunk at \(offset)" })
        return (body[body.startIndex], body.dropFirst())
    }
}
