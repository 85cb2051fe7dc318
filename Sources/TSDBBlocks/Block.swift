import PrometheusWire

/// One block directory opened for reading: its meta.json, index, chunk segments and tombstones,
/// each checked as it is opened. Immutable afterwards; reads share it.
final class Block: Sendable {
    let directory: String
    let meta: BlockMeta
    let index: IndexReader
    let chunks: ChunkFiles
    let tombstones: Tombstones
    /// The Thanos external labels of the block that its series carry, sorted; empty for a Prometheus block.
    let externalLabels: [Label]
    /// Names in the Thanos section that begin with `__`: the block's own metadata, not series labels
    /// (Mimir's `__compactor_shard_id__` of split compaction and `__out_of_order__`, Cortex's
    /// `__org_id__`; Prometheus reserves such names for internal use). Mimir's store-gateway serves
    /// the series without them; this reader neither adds them to series nor groups blocks by them.
    let metadataLabelNames: [String]

    /// Opens the block whose meta.json, already read, is `meta`.
    init(directory: String, meta: BlockMeta) throws {
        self.directory = directory
        self.meta = meta
        index = try IndexReader(path: directory + "/index")
        chunks = try ChunkFiles(directory: directory + "/chunks")
        tombstones = FileCheck.isRegularFile(directory + "/tombstones") ? try Tombstones(path: directory + "/tombstones") : Tombstones()
        let labels = meta.thanos?.labels ?? [:]
        externalLabels = labels.filter { !$0.key.hasPrefix("__") }.map { Label($0.key, $0.value) }.sorted { Labels.less($0.name, $1.name) }
        metadataLabelNames = labels.keys.filter { $0.hasPrefix("__") }.sorted()
    }

    /// Files this block keeps open: its index and chunk segments (tombstones and meta.json are read at once).
    var openFiles: Int { 1 + chunks.segmentCount }

    /// Whether the block may hold samples in `[startMs, endMs)`.
    func overlaps(startMs: Int64, endMs: Int64) -> Bool {
        meta.minTime < endMs && meta.maxTime >= startMs
    }
}
