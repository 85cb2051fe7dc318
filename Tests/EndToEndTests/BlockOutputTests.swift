import ArchiveFormat
import ArchiveStore
import ExportPipeline
import Foundation
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Testing
import TestSupport

/// `prom-archive blocks` against the real thing: promtool must accept the blocks, and a Prometheus
/// 2.42 started on them must serve every sample bit for bit through streamed remote read — floats
/// with staleness markers and NaN payloads, native histograms (integer and float) with their reset
/// hints, and a series that switches between the two.
@Suite(.serialized) struct BlockOutputTests {
    static let hour: Int64 = 3_600_000
    static let start: Int64 = 1_764_892_800_000

    /// The archive's series: exporter-like floats with markers and odd bits, histograms hinted as chunks hint them.
    static func series() -> [Series] {
        var floats = SampleHistory(seriesCount: 12, startMs: start, endMs: start + 9 * hour, intervalMs: 15_000, seed: 5).series()
        for i in floats.indices {
            for j in floats[i].samples.indices where j % 173 == 7 {
                floats[i].samples[j].valueBits = [Sample.staleNaNBits, 0x7FF8_0000_0000_0001, (-0.0).bitPattern][j % 3]
            }
        }
        let histograms = HistogramHistory(seriesCount: 12, startMs: start + hour, endMs: start + 7 * hour, gaugesGoDown: false).series()
            .map(chunkHinted)
        return floats + histograms
    }

    /// Hints as Prometheus' chunks give them: `.yes` where a counter went down, `.unknown` now and then (where
    /// Prometheus cut a chunk for its size), `.no` otherwise; gauges `.gauge`.
    static func chunkHinted(_ series: Series) -> Series {
        var copy = series
        for i in copy.histograms.indices.dropFirst() where copy.histograms[i].resetHint != .gauge {
            let (count, previous) = (copy.histograms[i].absoluteCounts.count, copy.histograms[i - 1].absoluteCounts.count)
            let float = copy.histograms[i].counts.isFloat
            let wentDown = float ? Double(bitPattern: count) < Double(bitPattern: previous) : count < previous
            copy.histograms[i].resetHint = wentDown ? .yes : i % 90 == 0 ? .unknown : .no
        }
        return copy
    }

    static func contents(_ archivePath: String) throws -> [Labels: Series] { try TSDBSourceTests.contents(archivePath) }

    @Test func prometheusServesOurBlocksBitForBitAndPromtoolAcceptsThem() async throws {
        let work = try TemporaryDirectory(prefix: "promferry-blocks-out")
        defer { work.remove() }
        let input = Self.series()
        let archive = work.path + "/archive"
        try TestArchive.write(input, at: archive, startMs: Self.start, slabMs: 3 * Self.hour / 2, slabs: 7)
        let blocks = work.path + "/blocks"
        let run = try await Executables.run("prom-archive", ["blocks", "-a", archive, blocks, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        let written = report["blocks"] as! [[String: Any]]
        // 10.5 h from 00:00 UTC in 2 h windows: 00, 02, 04, 06, 08 (the data ends before 09:00).
        #expect(written.count == 5)
        #expect(report["samples"] as? Int == input.reduce(0) { $0 + $1.sampleCount })

        // promtool reads every block.
        let promtool = try PeerBinary.find("promtool")
        let list = try Command.run(promtool, ["tsdb", "list", blocks])
        for block in written { #expect(list.contains(block["ulid"] as! String), "\(list)") }
        for block in written {
            let analysis = try Command.run(promtool, ["tsdb", "analyze", blocks, block["ulid"] as! String])
            #expect(analysis.contains("Block ID: \(block["ulid"] as! String)"), "\(analysis)")
        }

        // Prometheus serves them back.
        let exported = work.path + "/exported"
        try await PrometheusServer.with(options: .init(extraArguments: ["--enable-feature=native-histograms"], copyBlocksFrom: blocks)) { server in
            // Slabs of whole blocks: Prometheus 2.42 re-encodes a chunk that a read range cuts, and cannot re-encode a
            // gauge histogram's chunk at all ("unexpected schema change"), whoever wrote the block.
            _ = try await TSDBSourceTests.export(source: server.readURL, kind: .remoteRead, to: exported, Self.start, Self.start + 12 * Self.hour,
                                                 slab: 2 * Self.hour, maxSlab: 2 * Self.hour)
        }
        let got = try Self.contents(exported)
        #expect(got.count == input.count)
        for series in input {
            let served = try #require(got[series.labels], "\(series.labels) is not served")
            #expect(served.samples == series.samples, "\(series.labels): \(served.samples.count) floats served, \(series.samples.count) written")
            #expect(served.histograms == series.histograms, "\(series.labels): histograms differ")
        }
        #expect(got.values.contains { $0.samples.contains { $0.valueBits == Sample.staleNaNBits } })
        #expect(got.values.contains { $0.histograms.contains(where: \.isStaleMarker) })
        #expect(got.values.filter { !$0.histograms.isEmpty }.count == 12)
        #expect(got.values.contains { $0.histograms.first?.counts.isFloat == true })
    }
}

/// `prom-archive blocks` through the binary: usage errors, a run killed with SIGKILL mid-way that a
/// re-run completes to exactly the blocks an uninterrupted run writes, byte for byte.
@Suite struct BlockOutputCommandTests {
    static let hour: Int64 = 3_600_000

    /// Every file under `directory` (relative path → bytes).
    static func files(_ directory: String) throws -> [String: Data] {
        var all: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)!
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                all[relative] = FileManager.default.contents(atPath: directory + "/" + relative)
            }
        }
        return all
    }

    @Test func usageMistakesAreRefused() async throws {
        let work = try TemporaryDirectory(prefix: "promferry-blocks-cli")
        defer { work.remove() }
        let archive = work.path + "/archive"
        try TestArchive.write(Array(BlockOutputTests.series().prefix(2)), at: archive, startMs: BlockOutputTests.start, slabMs: Self.hour, slabs: 2)
        func expectUsage(_ arguments: [String], _ fragment: String) async throws {
            let outcome = try await Executables.run("prom-archive", ["blocks"] + arguments)
            #expect(outcome.status == 64, "\(arguments): exit \(outcome.status): \(outcome.stderr)")
            #expect(outcome.stderr.contains(fragment), "\(arguments): \(outcome.stderr)")
        }
        try await expectUsage(["-a", archive], "one output directory")
        try await expectUsage(["-a", archive, work.path + "/out", "--block-duration", "30s"], "shorter than 1m")
        try await expectUsage(["-a", archive, work.path + "/out", "--block-duration", "60d"], "longer than 31d")
        try await expectUsage(["-a", archive, work.path + "/out", "--block-duration", "5h"], "does not divide a day")
        try await expectUsage(["-a", archive, work.path + "/out", "--thanos-label", "cluster"], "expected NAME=VALUE")
        try await expectUsage(["-a", archive, work.path + "/out", "--thanos-label", "1x=a"], "not a valid label name")
        try await expectUsage(["-a", archive, work.path + "/out", "--thanos-label", "a=1", "--thanos-label", "a=2"], "given twice")
        #expect(!FileManager.default.fileExists(atPath: work.path + "/out"))
        let missing = try await Executables.run("prom-archive", ["blocks", "-a", work.path + "/nothing", work.path + "/out"])
        #expect(missing.status == 1 && missing.stderr.contains("holds no manifest.json"), "\(missing.stderr)")
        // The former spelling, ARCHIVE OUT_DIR, works as well.
        let positional = try await Executables.run("prom-archive", ["blocks", "-q", archive, work.path + "/out"])
        #expect(positional.status == 0, "\(positional.stderr)")
        #expect(positional.stdout.contains("wrote 1 blocks"), "\(positional.stdout)")
    }

    @Test func aKilledRunIsCompletedByARerunToTheSameBytes() async throws {
        let work = try TemporaryDirectory(prefix: "promferry-blocks-kill")
        defer { work.remove() }
        let start: Int64 = 1_764_892_800_000
        let history = SampleHistory(seriesCount: 150, startMs: start, endMs: start + 24 * Self.hour, intervalMs: 30_000, seed: 9)
        let archive = work.path + "/archive"
        try TestArchive.write(history.series(), at: archive, startMs: start, slabMs: 2 * Self.hour, slabs: 12)
        let arguments = ["blocks", "-q", "-a", archive, "--block-duration", "1h"]
        let clean = try await Executables.run("prom-archive", arguments + [work.path + "/clean"])
        #expect(clean.status == 0, "\(clean.stderr)")

        let killed = work.path + "/killed"
        let process = try Executables.start("prom-archive", arguments + [killed])
        // Kill it once some blocks are finished and others are not, watched from a thread of its own (a busy
        // test run can starve the task pool, not this).
        @Sendable func finished() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: killed)) ?? []).filter { !$0.contains(".tmp") }.count
        }
        let wasRunning = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            DispatchQueue.global().async {
                let deadline = Date().addingTimeInterval(120)
                while finished() < 3 && process.isRunning && Date() < deadline { usleep(500) }
                let running = process.isRunning
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                done.resume(returning: running)
            }
        }
        #expect(wasRunning, "prom-archive finished before it could be killed")
        #expect(finished() >= 3 && finished() < 24, "\(finished()) blocks finished when killed")

        let rerun = try await Executables.run("prom-archive", arguments + ["--json", killed])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(rerun.stdout.utf8)) as! [String: Any]
        #expect((report["blocksAlreadyWritten"] as! [String]).count >= 3)
        #expect(try Self.files(killed) == (try Self.files(work.path + "/clean")))
    }
}
