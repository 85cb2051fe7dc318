import FoundationEssentials

/// A block's `meta.json`: what this reader uses of it. Prometheus writes `version` 1; Thanos and Mimir
/// add a `thanos` section (external labels, downsampling resolution) that Prometheus ignores.
///
/// `minTime` is inclusive and `maxTime` exclusive, as in Prometheus (`BlockMeta`).
public struct BlockMeta: Decodable, Sendable {
    public var ulid: String
    public var minTime: Int64
    public var maxTime: Int64
    public var version: Int
    public var stats: Stats?
    public var compaction: Compaction?
    public var thanos: Thanos?

    public struct Stats: Decodable, Sendable {
        public var numSamples: UInt64?
        public var numSeries: UInt64?
        public var numChunks: UInt64?
    }

    public struct Compaction: Decodable, Sendable {
        public var level: Int?
        public var sources: [String]?
        public var parents: [Parent]?

        public struct Parent: Decodable, Sendable {
            public var ulid: String
        }
    }

    public struct Thanos: Decodable, Sendable {
        public var labels: [String: String]?
        public var downsample: Downsample?
        public var source: String?

        public struct Downsample: Decodable, Sendable {
            public var resolution: Int64
        }
    }

    /// Largest meta.json read: real ones are a few KiB (a heavily compacted block lists its sources).
    static let maxBytes = 16 << 20

    static func read(blockDirectory: String) throws -> BlockMeta {
        let path = blockDirectory + "/meta.json"
        let file = try BlockFile(path: path)
        guard file.size <= maxBytes else {
            throw TSDBError(.corrupt, "\(path) is \(file.size) bytes; a block's meta.json is a few KiB, so this is not one")
        }
        let meta: BlockMeta
        do {
            meta = try JSONDecoder().decode(BlockMeta.self, from: Data(try file.read(at: 0, count: file.size)))
        } catch let error as TSDBError {
            throw error
        } catch {
            throw TSDBError(.corrupt, "\(path) is not a block's meta.json: \(Self.describe(error))")
        }
        guard meta.version == 1 else {
            throw TSDBError(.unsupported, "\(path): meta.json version \(meta.version) is not 1, the only version this reader knows; "
                + "is the block from a newer Prometheus? Use remote read (--source-url) on a server that holds it")
        }
        guard meta.minTime <= meta.maxTime else {
            throw TSDBError(.corrupt, "\(path): minTime \(meta.minTime) is after maxTime \(meta.maxTime)")
        }
        if let resolution = meta.thanos?.downsample?.resolution, resolution > 0 {
            throw TSDBError(.unsupported, "\(blockDirectory) is a Thanos block downsampled to \(resolution) ms: its chunks hold "
                + "aggregates (count, sum, min, max, counter), not samples. Export the raw blocks (resolution 0) instead, or leave this one "
                + "out of the directory")
        }
        return meta
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "the field \"\(key.stringValue)\" is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "the field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type"
        case DecodingError.dataCorrupted(let context): context.debugDescription
        default: "\(error)"
        }
    }
}
