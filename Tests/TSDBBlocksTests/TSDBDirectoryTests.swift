import Foundation
import PeerHarness
import PrometheusWire
import Testing
@testable import TSDBBlocks

/// The reader on blocks that promtool wrote, and on those blocks damaged or dressed up in the ways
/// operators meet: an empty directory, a bare WAL, a downsampled Thanos block, an index of another
/// version, flipped bytes in chunks and index, Thanos external labels, compaction parents.
@Suite struct TSDBDirectoryTests {
    static let hour: Int64 = 3_600_000
    static let history = SampleHistory(seriesCount: 12, startMs: 1_764_892_800_000, endMs: 1_764_892_800_000 + 5 * hour, intervalMs: 30_000, seed: 3)

    /// A directory of promtool blocks of `history`.
    static func blocks() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(prefix: "promferry-blocks")
        try OpenMetricsFile.write(history.series(), to: directory.path + "/history.om")
        try FileManager.default.createDirectory(atPath: directory.path + "/data", withIntermediateDirectories: true)
        _ = try Command.run(try PeerBinary.find("promtool"), ["tsdb", "create-blocks-from", "openmetrics",
                                                              directory.path + "/history.om", directory.path + "/data"])
        return directory
    }

    static func blockNames(_ data: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: data).filter { $0.hasPrefix("01") }.sorted()
    }

    static func readAll(_ directory: TSDBDirectory, matchers: [LabelMatcher] = SeriesSelector.everySeries.matchers,
                        budget: Int? = nil) async throws -> [Labels: Series] {
        var got: [Labels: Series] = [:]
        try await directory.read(startMs: history.startMs, endMs: history.endMs, matchers: matchers, memoryBudget: budget) {
            #expect(got[$0.labels] == nil, "\($0.labels) came twice")
            got[$0.labels] = $0
        }
        return got
    }

    static func flip(_ path: String, at offset: Int) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[offset] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func editMeta(_ block: String, _ edit: (inout [String: Any]) -> Void) throws {
        let path = block + "/meta.json"
        var meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        edit(&meta)
        try JSONSerialization.data(withJSONObject: meta).write(to: URL(fileURLWithPath: path))
    }

    @Test func readsEverySampleOfPromtoolBlocks() async throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let tsdb = try TSDBDirectory(path: directory.path + "/data")
        #expect(tsdb.blockCount == 3)
        #expect(tsdb.notes.isEmpty)
        let got = try await Self.readAll(tsdb)
        let want = Dictionary(uniqueKeysWithValues: Self.history.series().map { ($0.labels, $0.samples) })
        #expect(got.mapValues(\.samples) == want)
    }

    @Test func selectorsNarrowLikePrometheus() async throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let tsdb = try TSDBDirectory(path: directory.path + "/data")
        let all = Self.history.series()
        let selectors: [[LabelMatcher]] = [
            [LabelMatcher("__name__", .equal, "http_requests_total")],
            [LabelMatcher("__name__", .regexMatch, "http_.*|node_temperature_celsius"), LabelMatcher("job", .notEqual, "api")],
            [LabelMatcher("job", .regexMatch, ".+"), LabelMatcher("code", .equal, "")],
            [LabelMatcher("__name__", .regexNoMatch, "http_.*")],
            [LabelMatcher("__name__", .equal, "no_such_metric")],
        ]
        for matchers in selectors {
            let filter = try SeriesFilter(selectors: [SeriesSelector(matchers: matchers)])
            let want = Set(all.map(\.labels).filter(filter.matches))
            let got = Set(try await Self.readAll(tsdb, matchers: matchers).keys)
            #expect(got == want, "\(SeriesSelector(matchers: matchers))")
        }
    }

    @Test func refusesWhatIsNotBlocks() throws {
        let directory = try TemporaryDirectory(prefix: "promferry-blocks")
        defer { directory.remove() }
        #expect(throws: TSDBError.self) { try TSDBDirectory(path: directory.path + "/missing") }
        let empty = #expect(throws: TSDBError.self) { try TSDBDirectory(path: directory.path) }
        #expect(empty?.code == .noBlocks)
        #expect(empty?.message.contains("no TSDB block") == true)
        try FileManager.default.createDirectory(atPath: directory.path + "/wal", withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: directory.path + "/wal/00000000"))
        let wal = #expect(throws: TSDBError.self) { try TSDBDirectory(path: directory.path) }
        #expect(wal?.code == .noBlocks)
        #expect(wal?.message.contains("snapshot") == true, "\(wal?.message ?? "")")
    }

    @Test func aDataDirectoryWithAWALSaysTheHeadIsNotRead() throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let data = directory.path + "/data"
        try FileManager.default.createDirectory(atPath: data + "/wal", withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: data + "/wal/00000000"))
        // A block being written and one marked for deletion are left out, as Prometheus does.
        let names = try Self.blockNames(data)
        try FileManager.default.copyItem(atPath: data + "/" + names[0], toPath: data + "/" + names[0] + ".tmp-for-creation")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: data + "/" + names[1] + "/deletion-mark.json"))
        let tsdb = try TSDBDirectory(path: data)
        #expect(tsdb.blockCount == 2)
        #expect(tsdb.notes.contains { $0.contains("wal") && $0.contains("snapshot") })
        #expect(tsdb.notes.contains { $0.contains(names[1]) })
    }

    @Test func refusesDownsampledThanosBlocksAndUnknownVersions() throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let data = directory.path + "/data"
        let names = try Self.blockNames(data)
        try Self.editMeta(data + "/" + names[0]) { $0["thanos"] = ["labels": ["replica": "a"], "downsample": ["resolution": 300_000]] }
        let downsampled = #expect(throws: TSDBError.self) { try TSDBDirectory(path: data) }
        #expect(downsampled?.code == .unsupported)
        #expect(downsampled?.message.contains("downsampled") == true)
        #expect(downsampled?.message.contains(names[0]) == true)
        try Self.editMeta(data + "/" + names[0]) { $0["thanos"] = nil }

        try Self.flip(data + "/" + names[1] + "/index", at: 4)
        let version = #expect(throws: TSDBError.self) { try TSDBDirectory(path: data) }
        #expect(version?.code == .unsupported)
        #expect(version?.message.contains("index format version") == true)
        #expect(version?.message.contains(names[1]) == true)
    }

    /// A block without its chunks directory is incomplete; one whose files cannot be opened is named
    /// with the system's reason, not called corrupt.
    @Test func aBlockWithoutChunksOrUnreadableIsNamed() throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let data = directory.path + "/data"
        let names = try Self.blockNames(data)
        try FileManager.default.removeItem(atPath: data + "/" + names[0] + "/chunks")
        let missing = #expect(throws: TSDBError.self) { try TSDBDirectory(path: data) }
        #expect(missing?.code == .corrupt)
        #expect(missing?.message.contains(names[0] + "/chunks is missing or not a directory") == true, "\(missing?.message ?? "")")

        try FileManager.default.removeItem(atPath: data + "/" + names[0])
        try FileManager.default.removeItem(atPath: data + "/" + names[1] + "/index")
        try FileManager.default.createSymbolicLink(atPath: data + "/" + names[1] + "/index", withDestinationPath: "nowhere")
        let unopenable = #expect(throws: TSDBError.self) { try TSDBDirectory(path: data) }
        #expect(unopenable?.code == .io)
        #expect(unopenable?.message.contains(names[1] + "/index: No such file or directory") == true, "\(unopenable?.message ?? "")")
    }

    @Test func namesTheDamagedFile() async throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let data = directory.path + "/data"
        let names = try Self.blockNames(data)
        // A byte inside the chunk data: only the read finds it, through the chunk's CRC.
        try Self.flip(data + "/" + names[2] + "/chunks/000001", at: 64)
        let tsdb = try TSDBDirectory(path: data)
        let chunk = await #expect(throws: TSDBError.self) { try await Self.readAll(tsdb) }
        #expect(chunk?.code == .corrupt)
        #expect(chunk?.message.contains(names[2] + "/chunks/000001") == true, "\(chunk?.message ?? "")")

        // A byte of the symbol table: the index is refused on opening.
        try Self.flip(data + "/" + names[1] + "/index", at: 20)
        let index = #expect(throws: TSDBError.self) { try TSDBDirectory(path: data) }
        #expect(index?.code == .corrupt)
        #expect(index?.message.contains(names[1] + "/index") == true, "\(index?.message ?? "")")
    }

    /// A chunk file cut short anywhere in its last chunks: every read is refused, naming the file,
    /// whether the cut falls in a chunk's length, its data or its CRC (the reader's window must never
    /// serve bytes the file no longer has).
    @Test func aTruncatedChunkFileIsNamedWhereverItIsCut() async throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let data = directory.path + "/data"
        let name = try Self.blockNames(data)[0]
        let path = data + "/" + name + "/chunks/000001"
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        for cut in [1, 2, 3, 4, 5, 6, 9, 50, 200] where cut < original.count - 8 {
            try original.prefix(original.count - cut).write(to: URL(fileURLWithPath: path))
            let tsdb = try TSDBDirectory(path: data)
            let error = await #expect(throws: TSDBError.self) { try await Self.readAll(tsdb) }
            #expect(error?.code == .corrupt, "cut \(cut): \(error?.message ?? "")")
            #expect(error?.message.contains(name + "/chunks/000001") == true, "cut \(cut): \(error?.message ?? "")")
        }
    }

    @Test func thanosLabelsAreAddedAndReplacedBlocksLeftOut() async throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let data = directory.path + "/data"
        let names = try Self.blockNames(data)
        for name in names { try Self.editMeta(data + "/" + name) { $0["thanos"] = ["labels": ["replica": "r1"], "source": "sidecar"] } }
        // The last block claims to replace the first: the first is left out.
        try Self.editMeta(data + "/" + names[2]) { meta in
            var compaction = meta["compaction"] as? [String: Any] ?? [:]
            compaction["parents"] = [["ulid": names[0], "minTime": 0, "maxTime": 1]]
            meta["compaction"] = compaction
        }
        let tsdb = try TSDBDirectory(path: data)
        #expect(tsdb.blockCount == 2)
        #expect(tsdb.externalLabels == ["replica": "r1"])
        let got = try await Self.readAll(tsdb, matchers: [LabelMatcher("replica", .equal, "r1"), LabelMatcher("__name__", .regexMatch, ".+")])
        #expect(got.count == Self.history.seriesCount)
        #expect(got.keys.allSatisfy { $0["replica"] == "r1" })
        let firstBlockEnd = try #require(got.values.flatMap(\.samples).map(\.timestampMs).min())
        #expect(firstBlockEnd >= Self.history.startMs + 2 * Self.hour - Self.history.startMs % (2 * Self.hour))
        #expect(try await Self.readAll(tsdb, matchers: [LabelMatcher("replica", .equal, "r2")]).isEmpty)
    }

    /// Mimir's split compaction labels each block's shard in its Thanos section, and Cortex its tenant:
    /// block metadata, not series labels. A block without them (not yet compacted) and one with them
    /// (its compacted copy) still merge into one series each.
    @Test func mimirMetadataLabelsAreNotSeriesLabels() async throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let data = directory.path + "/data"
        let names = try Self.blockNames(data)
        try Self.editMeta(data + "/" + names[0]) { $0["thanos"] = ["labels": ["__compactor_shard_id__": "1_of_2", "__org_id__": "anonymous"]] }
        try Self.editMeta(data + "/" + names[1]) { $0["thanos"] = ["labels": ["__out_of_order__": "true"]] }
        let tsdb = try TSDBDirectory(path: data)
        #expect(tsdb.externalLabels.isEmpty)
        #expect(tsdb.notes.contains { $0.contains("__compactor_shard_id__, __org_id__, __out_of_order__") && $0.contains("2 blocks") }, "\(tsdb.notes)")
        let got = try await Self.readAll(tsdb)
        #expect(got.count == Self.history.seriesCount)
        #expect(got.keys.allSatisfy { labels in labels.labels.allSatisfy { !$0.nameString.hasPrefix("__") || $0.nameString == "__name__" } })
        let want = Dictionary(uniqueKeysWithValues: Self.history.series().map { ($0.labels, $0.samples) })
        let same = got.mapValues(\.samples) == want
        #expect(same, "the series' samples, merged across the blocks, differ from the history's")
    }

    /// A running Prometheus deletes the blocks a compaction replaced right after writing the new one, so
    /// a block listed a moment before may be gone when it is opened: the directory is listed again.
    @Test func aBlockThatDisappearsMeanwhileIsListedAgain() throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let data = directory.path + "/data"
        var listings = 0
        let tsdb = try TSDBDirectory(path: data) { path in
            listings += 1
            var found = try TSDBDirectory.blockDirectories(path)
            if listings == 1 { found.directories.insert(path + "/01JGONE0000000000000000000", at: 1) }
            return found
        }
        #expect(listings == 2)
        #expect(tsdb.blockCount == 3)

        listings = 0
        let error = #expect(throws: TSDBError.self) {
            try TSDBDirectory(path: data) { path in
                listings += 1
                var found = try TSDBDirectory.blockDirectories(path)
                found.directories.append(path + "/01JGONE0000000000000000000")
                return found
            }
        }
        #expect(listings == TSDBDirectory.listings)
        #expect(error?.message.contains("disappeared while being opened") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("01JGONE0000000000000000000") == true)
    }

    /// Blocks that a compacted block replaced are not even opened: a running Prometheus is about to delete them.
    @Test func aReplacedBlockIsNotOpened() throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let data = directory.path + "/data"
        let names = try Self.blockNames(data)
        try Self.flip(data + "/" + names[0] + "/index", at: 4)
        #expect(throws: TSDBError.self) { try TSDBDirectory(path: data) }
        try Self.editMeta(data + "/" + names[2]) { meta in
            var compaction = meta["compaction"] as? [String: Any] ?? [:]
            compaction["parents"] = [["ulid": names[0], "minTime": 0, "maxTime": 1]]
            meta["compaction"] = compaction
        }
        #expect(try TSDBDirectory(path: data).blockCount == 2)
    }

    @Test func aSeriesOverTheBudgetSaysSo() async throws {
        let directory = try Self.blocks()
        defer { directory.remove() }
        let tsdb = try TSDBDirectory(path: directory.path + "/data")
        let error = await #expect(throws: TSDBError.self) { try await Self.readAll(tsdb, budget: 1024) }
        #expect(error?.code == .overBudget)
    }
}
