import PrometheusWire

/// A block's `tombstones` file: deleted time intervals per series reference (`tsdb/docs/format/tombstones.md`).
/// Intervals are inclusive at both ends. A block without the file has no deletions.
struct Tombstones: Sendable {
    static let magic: UInt32 = 0x0130_BA30
    /// Deletions of millions of series stay far below this.
    static let maxBytes = 256 << 20

    private(set) var intervals: [UInt32: [ClosedRange<Int64>]] = [:]

    var isEmpty: Bool { intervals.isEmpty }

    init() {}

    init(path: String) throws {
        let file = try BlockFile(path: path)
        guard file.size >= 9 else { throw TSDBError(.corrupt, "\(path) is \(file.size) bytes, too short for a tombstones file") }
        guard file.size <= Self.maxBytes else {
            throw TSDBError(.unsupported, "\(path) is \(file.size) bytes; this reader holds at most \(Self.maxBytes) of tombstones. "
                + "Let Prometheus apply them first (POST /api/v1/admin/tsdb/clean_tombstones), then take a snapshot")
        }
        let bytes = try file.read(at: 0, count: file.size)
        guard BinaryDecoding.bigEndian32(bytes[0..<4]) == Self.magic else {
            throw TSDBError(.corrupt, "\(path) does not start with the tombstones magic 0x0130BA30")
        }
        guard bytes[4] == 1 else { throw TSDBError(.unsupported, "\(path) is tombstones format \(bytes[4]); this reader knows 1") }
        let body = bytes[5..<(bytes.count - 4)]
        guard CRC32C.checksum(body) == BinaryDecoding.bigEndian32(bytes[(bytes.count - 4)...]) else {
            throw TSDBError(.corrupt, "\(path) fails its CRC32C; the block's deletions cannot be trusted")
        }
        var entries = BytesReader(body, context: path)
        while !entries.atEnd {
            let ref = try entries.uvarint()
            let (minT, maxT) = (try entries.varint(), try entries.varint())
            guard ref <= UInt64(UInt32.max) else { throw TSDBError(.corrupt, "\(path): series reference \(ref) exceeds 32 bits") }
            guard minT <= maxT else { continue }
            intervals[UInt32(ref), default: []].append(minT...maxT)
        }
    }

    /// Whether `timestampMs` of series `ref` was deleted.
    func deletes(_ ref: UInt32, _ timestampMs: Int64) -> Bool {
        intervals[ref]?.contains { $0.contains(timestampMs) } ?? false
    }

    func intervals(of ref: UInt32) -> [ClosedRange<Int64>] { intervals[ref] ?? [] }
}
