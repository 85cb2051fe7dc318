import ArchiveFormat
import ArchiveStore
import ArchiveTools
import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport
import TSDBBlocks

/// `prom-archive blocks`: every sample of the archive in aligned blocks, a re-run after a kill that
/// completes the job, early chunk cuts under a small memory budget, Thanos labels, and refusals that
/// leave no block behind.
@Suite struct ArchiveBlocksTests {
    /// The archive's series as blocks hold them: without start timestamps.
    static func expected() throws -> [Labels: Series] {
        try CompactionTests.contents(try archivePath()).mapValues { series in
            var copy = series
            copy.sampleStartTimestampsMs = []
            for i in copy.histograms.indices { copy.histograms[i].startTimestampMs = 0 }
            return copy
        }
    }

    nonisolated(unsafe) static var sharedArchive: TemporaryDirectory?
    static let lock = NSLock()

    /// One archive of `CompactionTests.series` (4 h from t0 in 30 min slabs) for every test; read only.
    static func archivePath() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let shared = sharedArchive { return shared.path + "/archive" }
        let directory = try TemporaryDirectory(prefix: "promferry-blocks-archive")
        try TestArchive.write(CompactionTests.series, at: directory.path + "/archive", startMs: t0, slabMs: CompactionTests.slabMs, slabs: 8)
        sharedArchive = directory
        return directory.path + "/archive"
    }

    static func read(_ directory: String) async throws -> [Labels: Series] {
        let tsdb = try TSDBDirectory(path: directory)
        var got: [Labels: Series] = [:]
        _ = try await tsdb.read(startMs: t0 - hour, endMs: t0 + 6 * hour, matchers: SeriesSelector.everySeries.matchers, memoryBudget: nil) {
            got[$0.labels] = $0
        }
        return got
    }

    static func blockDirectories(_ out: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: out).sorted()
    }

    @Test func blocksHoldEverySampleAndAReRunCompletesAKilledRun() async throws {
        let out = try TemporaryDirectory(prefix: "promferry-blocks")
        defer { out.remove() }
        let options = ArchiveBlocks.Options(blockDurationMs: hour, thanosLabels: nil, memoryBytes: 64 << 20)
        let first = try ArchiveBlocks.write(try Self.archivePath(), to: out.path + "/blocks", options: options)
        // 4 h from an hour boundary in 1 h blocks.
        #expect(first.blocks.count == 4)
        #expect(first.blocks.map(\.minTimeMs).allSatisfy { ($0 - t0) % hour < hour && $0 >= t0 })
        for block in first.blocks { #expect(block.maxTimeMs <= (block.minTimeMs / hour + 1) * hour, "\(block) passes its window") }
        let want = try Self.expected()
        #expect(try await Self.read(out.path + "/blocks") == want)
        #expect(first.samples == want.values.reduce(0) { $0 + $1.sampleCount })
        #expect(first.startTimestampsDropped == CompactionTests.series.reduce(0) { $0 + $1.sampleStartTimestampsMs.count { $0 != 0 } })

        // A run killed while writing the third block leaves it unfinished: the re-run writes it, and only it.
        let killed = first.blocks[2]
        try FileManager.default.removeItem(atPath: killed.directory)
        let leftover = killed.directory + BlockWriter.temporarySuffix
        try FileManager.default.createDirectory(atPath: leftover + "/chunks", withIntermediateDirectories: true)
        try Data([0x85, 0xBD]).write(to: URL(fileURLWithPath: leftover + "/chunks/000001"))
        let second = try ArchiveBlocks.write(try Self.archivePath(), to: out.path + "/blocks", options: options)
        #expect(second.blocks.map(\.ulid) == [killed.ulid])
        #expect(Set(second.blocksAlreadyWritten) == Set(first.blocks.map(\.ulid)).subtracting([killed.ulid]))
        #expect(try Self.blockDirectories(out.path + "/blocks") == first.blocks.map(\.ulid).sorted())
        #expect(try await Self.read(out.path + "/blocks") == want)
    }

    @Test func aSmallMemoryBudgetCutsChunksEarlyAndKeepsEverySample() async throws {
        let out = try TemporaryDirectory(prefix: "promferry-blocks")
        defer { out.remove() }
        let roomy = try ArchiveBlocks.write(try Self.archivePath(), to: out.path + "/roomy",
                                            options: .init(blockDurationMs: 2 * hour, thanosLabels: nil, memoryBytes: 64 << 20))
        let tight = try ArchiveBlocks.write(try Self.archivePath(), to: out.path + "/tight",
                                            options: .init(blockDurationMs: 2 * hour, thanosLabels: nil, memoryBytes: 1))
        #expect(tight.blocks.reduce(0) { $0 + $1.chunks } > roomy.blocks.reduce(0) { $0 + $1.chunks })
        #expect(try await Self.read(out.path + "/tight") == (try Self.expected()))
    }

    @Test func thanosLabelsMoveToMetaAndAClashIsRefusedLeavingNoBlock() async throws {
        let out = try TemporaryDirectory(prefix: "promferry-blocks")
        defer { out.remove() }
        // A Thanos label that series of the first slab carry with other values: refused before any block is finished.
        let instances = Set(CompactionTests.series.compactMap { $0.labels["host"] })
        #expect(instances.count > 1, "\(instances)")
        #expect(throws: ArchiveBlocks.Failure.self) {
            try ArchiveBlocks.write(try Self.archivePath(), to: out.path + "/clash",
                                    options: .init(blockDurationMs: 2 * hour, thanosLabels: ["host": instances.sorted()[0]], memoryBytes: 1 << 20))
        }
        #expect(try Self.blockDirectories(out.path + "/clash").isEmpty)

        let result = try ArchiveBlocks.write(try Self.archivePath(), to: out.path + "/thanos",
                                             options: .init(blockDurationMs: 2 * hour, thanosLabels: ["cluster": "eu1"], memoryBytes: 1 << 20))
        #expect(result.blocks.count == 2)
        let tsdb = try TSDBDirectory(path: out.path + "/thanos")
        #expect(tsdb.externalLabels == ["cluster": "eu1"])
        // Read back, series carry the external label, as Thanos serves them.
        let got = try await Self.read(out.path + "/thanos")
        let want = try Self.expected()
        #expect(got.count == want.count)
        #expect(got.keys.allSatisfy { $0["cluster"] == "eu1" })

        // A Thanos label that series carry with the same value is stored in meta.json only.
        let jobs = Set(CompactionTests.series.compactMap { $0.labels["job"] })
        let moved = try ArchiveBlocks.write(try Self.archivePath(), to: out.path + "/moved",
                                            options: .init(blockDurationMs: 2 * hour, thanosLabels: ["job": jobs.first!], memoryBytes: 1 << 20))
        #expect(jobs.count == 1 && moved.blocks.count == 2)
        #expect(try await Self.read(out.path + "/moved") == want.mapValues { series in
            var copy = series
            copy.labels = Labels(sorting: series.labels.labels.filter { $0.nameString != "job" } + [Label("job", jobs.first!)])
            return copy
        }.reduce(into: [:]) { $0[$1.value.labels] = $1.value })
    }

    @Test func anIncompleteArchiveOrAFileAsOutputIsRefused() throws {
        let out = try TemporaryDirectory(prefix: "promferry-blocks")
        defer { out.remove() }
        let incomplete = out.path + "/incomplete"
        try TestArchive.write(Array(CompactionTests.series.prefix(3)), at: incomplete, startMs: t0, slabMs: hour, slabs: 2)
        let archive = ArchiveDirectory(root: incomplete)
        var manifest = try archive.readManifest()
        manifest.complete = false
        try archive.commit(manifest)
        let options = ArchiveBlocks.Options(blockDurationMs: 2 * hour, thanosLabels: nil, memoryBytes: 1 << 20)
        #expect { try ArchiveBlocks.write(incomplete, to: out.path + "/b", options: options) } throws: {
            "\($0)".contains("is not complete")
        }
        #expect(!FileManager.default.fileExists(atPath: out.path + "/b"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: out.path + "/file"))
        #expect { try ArchiveBlocks.write(try Self.archivePath(), to: out.path + "/file", options: options) } throws: {
            "\($0)".contains("is not a directory")
        }
    }
}
