public import PrometheusWire

/// A Prometheus TSDB directory opened read-only, without any server: a data directory, a snapshot
/// (`/api/v1/admin/tsdb/snapshot`), blocks copied from a Thanos or Mimir bucket, or one block.
///
/// Opening it finds the blocks (subdirectories with a `meta.json`; `*.tmp*` directories being written
/// or deleted, blocks marked for deletion and blocks that a compacted block replaced are left out, as
/// Prometheus itself does) and opens every file of each, checking headers and index checksums. The
/// files stay open for the life of the value, so a Prometheus compacting the directory meanwhile
/// cannot pull a block away from under a read; a block it deletes between the listing and the opening
/// makes the directory be listed again.
///
/// The WAL (the head: a running server's most recent samples) is never read; `notes` says so when
/// one is present.
public final class TSDBDirectory: Sendable {
    public let path: String
    let blocks: [Block]
    /// What an operator should know about the directory (e.g. a WAL that is not read).
    public let notes: [String]

    public convenience init(path: String) throws {
        try self.init(path: path, listing: Self.blockDirectories)
    }

    /// `listing` finds the block directories and the notes about what it left out (`blockDirectories`;
    /// tests give their own to play a compaction that removes blocks meanwhile).
    init(path: String, listing: (String) throws -> (directories: [String], notes: [String])) throws {
        self.path = path
        guard FileCheck.isDirectory(path) else {
            throw TSDBError(.noBlocks, "--source-tsdb \(path) is not a directory; give a Prometheus data directory, a snapshot "
                + "directory or a directory of blocks")
        }
        OpenFileLimit.raiseToHardLimit()
        let hasWAL = FileCheck.isDirectory(path + "/wal")
        // A running Prometheus deletes the blocks a compaction replaced, and those past retention, right after
        // writing the new block: one listed a moment ago may be gone. Then the directory is listed again.
        var attempt = 1
        var found: (blocks: [Block], notes: [String])
        while true {
            do {
                found = try Self.openBlocks(in: path, hasWAL: hasWAL, listing: listing)
                break
            } catch is VanishedBlock where attempt < Self.listings {
                attempt += 1
            } catch let vanished as VanishedBlock {
                throw TSDBError(.io, "blocks of \(path) disappeared while being opened, \(Self.listings) times (last \(vanished.directory)); "
                    + "is something deleting them? Stop it, or export a snapshot of the server instead")
            }
        }
        blocks = found.blocks
        var notes = found.notes
        let metadataNames = Set(blocks.flatMap(\.metadataLabelNames)).sorted()
        if !metadataNames.isEmpty {
            notes.append("the meta.json of \(blocks.count { !$0.metadataLabelNames.isEmpty }) blocks holds \(metadataNames.joined(separator: ", ")) "
                + "among its Thanos labels: block metadata of Mimir or Cortex, which are not added to the series (as Mimir serves them)")
        }
        if hasWAL && FileCheck.bytes(in: path + "/wal") > 0 {
            notes.append("\(path)/wal holds the head (the newest samples, typically the last 2-3 hours), which is not read; for them "
                + "take a snapshot of the running Prometheus (POST /api/v1/admin/tsdb/snapshot) and export the snapshot instead")
        }
        self.notes = notes
    }

    /// How many times the directory is listed when blocks disappear while they are opened.
    static let listings = 5

    /// A block directory that was listed and then was gone when its files were opened.
    struct VanishedBlock: Error {
        let directory: String
    }

    /// The block directories of `path` (itself, when it is one block): subdirectories with a `meta.json`,
    /// without those being written or deleted (`.tmp`) and those marked for deletion, which a note names.
    static func blockDirectories(_ path: String) throws -> (directories: [String], notes: [String]) {
        if FileCheck.isRegularFile(path + "/meta.json") { return ([path], []) }
        var directories: [String] = []
        var notes: [String] = []
        for name in try FileCheck.listing(path) where !name.contains(".tmp") && FileCheck.isDirectory(path + "/" + name)
            && FileCheck.isRegularFile(path + "/" + name + "/meta.json") {
            if FileCheck.isRegularFile(path + "/" + name + "/deletion-mark.json") {
                notes.append("block \(name) is marked for deletion (deletion-mark.json) and is not read")
                continue
            }
            directories.append(path + "/" + name)
        }
        return (directories, notes)
    }

    /// Lists the blocks, reads every meta.json, leaves out the blocks that a compacted block replaced
    /// (Prometheus deletes those on start), and opens the others, sorted by `minTime`, then ULID.
    /// Throws `VanishedBlock` when a listed block is gone by the time it is read.
    private static func openBlocks(in path: String, hasWAL: Bool, listing: (String) throws -> (directories: [String], notes: [String]))
        throws -> (blocks: [Block], notes: [String]) {
        let (directories, notes) = try listing(path)
        guard !directories.isEmpty else {
            if hasWAL {
                throw TSDBError(.noBlocks, "\(path) holds a WAL but no block: its samples are still in the head, which only the "
                    + "Prometheus that wrote it can read. Take a snapshot (curl -XPOST http://PROMETHEUS:9090/api/v1/admin/tsdb/snapshot "
                    + "with --web.enable-admin-api), which writes the head as a block, and give the snapshot's directory")
            }
            throw TSDBError(.noBlocks, "\(path) holds no TSDB block (no subdirectory with a meta.json); give a Prometheus data "
                + "directory, a snapshot directory or a directory of blocks")
        }
        func inBlock<T>(_ directory: String, _ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch let error as TSDBError where error.code == .openFileLimit {
                throw error
            } catch let error as TSDBError {
                if !FileCheck.isDirectory(directory) { throw VanishedBlock(directory: directory) }
                throw TSDBError(error.code, "block \(directory): \(error.message)")
            }
        }
        let metas = try directories.map { directory in (directory, try inBlock(directory) { try BlockMeta.read(blockDirectory: directory) }) }
        let replaced = Set(metas.flatMap { $0.1.compaction?.parents?.map(\.ulid) ?? [] })
        let kept = metas.filter { !replaced.contains($0.1.ulid) }
        var opened: [Block] = []
        for (directory, meta) in kept {
            do {
                opened.append(try inBlock(directory) { try Block(directory: directory, meta: meta) })
            } catch let error as TSDBError where error.code == .openFileLimit {
                throw Self.tooManyFiles(error, path: path, blocks: kept.count, opened: opened)
            }
        }
        return (opened.sorted { ($0.meta.minTime, $0.meta.ulid) < ($1.meta.minTime, $1.meta.ulid) }, notes)
    }

    /// Every block's index and chunk files stay open, so a directory of many blocks (2 h blocks copied
    /// from a bucket: 12 a day) can exhaust the open-file limit: said with what the blocks need.
    private static func tooManyFiles(_ error: TSDBError, path: String, blocks: Int, opened: [Block]) -> TSDBError {
        let perBlock = opened.isEmpty ? 2 : (opened.reduce(0) { $0 + $1.openFiles } + opened.count - 1) / opened.count
        let needed = blocks * perBlock + 64
        return TSDBError(.openFileLimit, "\(error.message) after opening \(opened.count) of the \(blocks) blocks in \(path), which keep "
            + "their index and chunk files open during the export (about \(perBlock) per block): raise the limit to at least \(needed) "
            + "(ulimit -n \(needed), or LimitNOFILE= in a systemd unit), or export the blocks in parts from directories holding fewer")
    }

    public var blockCount: Int { blocks.count }
    public var minTimeMs: Int64 { blocks.map(\.meta.minTime).min() ?? 0 }
    public var maxTimeMs: Int64 { blocks.map(\.meta.maxTime).max() ?? 0 }

    /// The metric names of the blocks that overlap `[startMs, endMs)` that some selector's metric-name
    /// matchers accept (its other matchers are left to the reads), sorted.
    public func metricNames(startMs: Int64, endMs: Int64, selectors: [SeriesSelector]) throws -> [String] {
        let filter: SeriesFilter
        do {
            filter = try SeriesFilter(selectors: selectors)
        } catch {
            throw TSDBError(.unsupported, "a selector of \(selectors) has an invalid regular expression")
        }
        var names = Set<String>()
        for block in blocks where block.overlaps(startMs: startMs, endMs: endMs) {
            for value in try block.index.values(of: Array("__name__".utf8)) {
                let name = String(decoding: value, as: UTF8.self)
                let accepted = selectors.isEmpty || selectors.contains { selector in
                    selector.matchers.filter { $0.name == "__name__" }.allSatisfy { filter.matches($0, value: name) }
                }
                if accepted { names.insert(name) }
            }
        }
        return names.sorted()
    }

    /// The external labels every block carries (Thanos' meta.json section): what the directory
    /// adds to its series, like a server's external labels.
    public var externalLabels: [String: String] {
        guard let first = blocks.first else { return [:] }
        var common = Dictionary(first.externalLabels.map { ($0.nameString, $0.valueString) }, uniquingKeysWith: { a, _ in a })
        for block in blocks.dropFirst() {
            let own = Dictionary(block.externalLabels.map { ($0.nameString, $0.valueString) }, uniquingKeysWith: { a, _ in a })
            common = common.filter { own[$0.key] == $0.value }
        }
        return common
    }
}
