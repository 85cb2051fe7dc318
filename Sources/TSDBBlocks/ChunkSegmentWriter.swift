import PrometheusWire

/// Writes a block's `chunks/000001`, `000002`, …: each a header (magic 0x85BD40DD, version 1, three
/// zero bytes) and chunks of `uvarint length, encoding byte, data, CRC32C of encoding and data`.
/// A file ends before a chunk would take it past `segmentBytes` (512 MiB, as Prometheus).
final class ChunkSegmentWriter {
    static let segmentBytes = 512 << 20

    let directory: String
    private var file: OutputFile?
    private var sequence = -1
    private(set) var chunks = 0

    init(directory: String) {
        self.directory = directory
    }

    /// Writes one chunk and returns its reference (segment sequence << 32 | offset).
    func append(encoding: Chunk.Encoding, data: [UInt8]) throws -> UInt64 {
        var record = BinaryEncoder()
        record.bytes.reserveCapacity(data.count + 10)
        record.uvarint(UInt64(data.count))
        let bodyStart = record.bytes.count
        record.bytes.append(UInt8(encoding.rawValue))
        record.bytes += data
        record.be32(CRC32C.checksum(record.bytes[bodyStart...]))
        if file == nil || file!.position + record.bytes.count > Self.segmentBytes {
            try file?.close()
            sequence += 1
            let next = try OutputFile(path: directory + "/" + ChunkFiles.segmentName(sequence + 1))
            try next.write([0x85, 0xBD, 0x40, 0xDD, 1, 0, 0, 0])
            file = next
        }
        let ref = UInt64(sequence) << 32 | UInt64(file!.position)
        try file!.write(record.bytes)
        chunks += 1
        return ref
    }

    /// Flushes and fsyncs the last file.
    func close() throws {
        try file?.close()
        file = nil
    }
}
