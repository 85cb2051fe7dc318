import PrometheusWire

/// One block directory opened for reading: its meta.json, index, chunk segments and tombstones,
/// each checked as it is opened. Immutable afterwards; reads share it.
final class Block: Sendable {
    let directory: String
    let meta: BlockMeta
    let index: IndexReader
    let chunks: ChunkFiles
    let tombstones: Tombstones
    /// The Thanos external labels of the block, sorted; empty for a Prometheus block.
    let externalLabels: [Label]

    init(directory: String) throws {
        self.directory = directory
        meta = try BlockMeta.read(blockDirectory: directory)
        index = try IndexReader(path: directory + "/index")
        chunks = try ChunkFiles(directory: directory + "/chunks")
        tombstones = FileCheck.isRegularFile(directory + "/tombstones") ? try Tombstones(path: directory + "/tombstones") : Tombstones()
        externalLabels = (meta.thanos?.labels ?? [:]).map { Label($0.key, $0.value) }.sorted { Labels.less($0.name, $1.name) }
    }

    /// Files this block keeps open: its index and chunk segments (tombstones and meta.json are read at once).
    var openFiles: Int { 1 + chunks.segmentCount }

    /// Whether the block may hold samples in `[startMs, endMs)`.
    func overlaps(startMs: Int64, endMs: Int64) -> Bool {
        meta.minTime < endMs && meta.maxTime >= startMs
    }
}
