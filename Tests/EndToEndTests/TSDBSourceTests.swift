import ArchiveFormat
import ArchiveStore
import ExportPipeline
import Foundation
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Testing

/// `--source-tsdb` against the real thing: a Prometheus 2.42 that backfilled overlapping blocks with
/// promtool, compacted them itself (several levels), took remote writes (staleness markers, native
/// histograms, out-of-order samples that it compacted into blocks of their own), and deleted series
/// through the admin API (tombstones), then took a snapshot. Exporting the snapshot offline must give
/// exactly what remote read gives from a Prometheus serving that snapshot.
@Suite(.serialized) struct TSDBSourceTests {
    static let hour: Int64 = 3_600_000

    /// Float and histogram samples of every series in an archive, keyed by labels.
    static func contents(_ archivePath: String) throws -> [Labels: Series] {
        let archive = ArchiveDirectory(root: archivePath)
        var map: [Labels: Series] = [:]
        for segment in try archive.readManifest().segments {
            try archive.readSegment(segment) { series in
                var merged = map[series.labels] ?? Series(labels: series.labels, samples: [])
                merged.samples += series.samples
                merged.histograms += series.histograms
                map[series.labels] = merged
            }
        }
        return map
    }

    static func export(source: String, kind: SourceKind, to archive: String, _ startMs: Int64, _ endMs: Int64,
                       slab: Int64 = 3 * hour, maxSlab: Int64 = 12 * hour) async throws -> ExportSummary {
        var configuration = ExportConfiguration(
            source: EndpointConfiguration(url: source), selectors: [.everySeries], startMs: startMs, endMs: endMs,
            startArgument: "\(startMs)", endArgument: "\(endMs)", slabWidthMs: slab, maxSlabWidthMs: maxSlab,
            archivePath: archive)
        configuration.sourceKind = kind
        return try await ExportPipeline(configuration: configuration, logger: Logger(label: "test")).run()
    }

    /// Every block's meta.json in `directory`, as JSON objects.
    static func metas(_ directory: String) throws -> [[String: Any]] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)/meta.json") else { return nil }
            return try JSONSerialization.jsonObject(with: data) as? [String: Any]
        }
    }

    static func level(_ meta: [String: Any]) -> Int { (meta["compaction"] as? [String: Any])?["level"] as? Int ?? 0 }

    @Test func aSnapshotExportsExactlyWhatRemoteReadServes() async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let end = now / Self.hour * Self.hour
        let work = try TemporaryDirectory(prefix: "promferry-tsdb")
        defer { work.remove() }
        let promtool = try PeerBinary.find("promtool")

        // 40 h of backfilled history (enough for an 18 h compaction level), and a second backfill that
        // overlaps it: other timestamps of two series, and some of the same timestamps with the same values.
        let history = SampleHistory(seriesCount: 10, startMs: end - 46 * Self.hour, endMs: end - 6 * Self.hour, intervalMs: 60_000, seed: 11)
        let seeded = history.series()
        let overlap = seeded.prefix(2).map { series in
            Series(labels: series.labels, samples: series.samples.filter { $0.timestampMs < end - 40 * Self.hour }.enumerated().flatMap {
                $0.offset % 10 == 0 ? [$0.element, Sample(timestampMs: $0.element.timestampMs + 7_000, value: 0.5)] : []
            })
        }
        let data = work.path + "/seed"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try OpenMetricsFile.write(seeded, to: work.path + "/history.om")
        try OpenMetricsFile.write(overlap, to: work.path + "/overlap.om")
        try Command.run(promtool, ["tsdb", "create-blocks-from", "openmetrics", work.path + "/history.om", data])
        try Command.run(promtool, ["tsdb", "create-blocks-from", "openmetrics", work.path + "/overlap.om", data])

        // Remote writes: 5 h in order (so that Prometheus compacts part of the head into a block), staleness
        // markers, native histograms, and out-of-order samples (2.42's snapshot leaves out the out-of-order
        // head, so they must reach a block first: they do when the in-order head is compacted).
        let labels = { (name: String, i: Int) in Labels(sorting: [Label("__name__", name), Label("instance", "w\(i)")]) }
        let inOrder = (0..<3).map { i in
            Series(labels: labels("written_gauge", i), samples: stride(from: now - 5 * Self.hour, to: now - 60_000, by: 60_000).enumerated().map {
                Sample(timestampMs: $0.element, valueBits: $0.offset % 97 == 5 ? Sample.staleNaNBits : Double($0.offset * (i + 1)).bitPattern)
            })
        }
        let histograms = HistogramHistory(seriesCount: 6, startMs: now - 2 * Self.hour, endMs: now - 60_000).series()
        let outOfOrderLabels = labels("late_gauge", 0)
        let outOfOrderSplit = now - 5 * Self.hour / 2
        let outOfOrderLatest = Series(labels: outOfOrderLabels, samples: [Sample(timestampMs: outOfOrderSplit - 60_000, value: 1)])
        let outOfOrder = Series(labels: outOfOrderLabels, samples: stride(from: now - 4 * Self.hour, to: now - 3 * Self.hour, by: 30_000).map {
            Sample(timestampMs: $0, value: Double($0 % 977))
        })

        let snapshot: String
        do {
            let server = try await PrometheusServer.start(options: .init(
                extraArguments: ["--enable-feature=native-histograms", "--web.enable-admin-api"], copyBlocksFrom: data))
            defer { server.stop() }
            // Histograms have no out-of-order window in 2.42: they go in time order with the floats. The
            // out-of-order samples (a series' later sample first, then its older ones) go in before the head spans
            // 3 h: at that point 2.42 compacts the in-order head, and the out-of-order head only together with it.
            let written = inOrder + histograms
            try await RemoteWriteSeeder.writeInTimeOrder(written.map { $0.restricted(to: Int64.min..<outOfOrderSplit) }.filter { $0.sampleCount > 0 },
                                                         to: server.writeURL)
            try await RemoteWriteSeeder.write([outOfOrderLatest], to: server.writeURL)
            try await RemoteWriteSeeder.write([outOfOrder], to: server.writeURL)
            try await RemoteWriteSeeder.writeInTimeOrder(written.map { $0.restricted(to: outOfOrderSplit..<Int64.max) }.filter { $0.sampleCount > 0 },
                                                         to: server.writeURL)
            // Prometheus compacts its blocks (to level 3 and more) and part of the head, soon after start
            // and then every minute.
            let deadline = ContinuousClock.now + .seconds(180)
            func compacted() throws -> Bool {
                let metas = try Self.metas(server.dataDirectory)
                return metas.contains { Self.level($0) >= 3 } && metas.contains { ($0["maxTime"] as? Int64 ?? 0) > now - 4 * Self.hour }
                    // Its out-of-order blocks are soon merged with the others (losing their meta.json hint); its log tells.
                    && ((try? String(contentsOfFile: server.dataDirectory + "/../prometheus.log", encoding: .utf8)) ?? "")
                        .contains("out-of-order compaction completed")
            }
            while try !compacted() {
                guard ContinuousClock.now < deadline else { Issue.record("Prometheus compacted nothing within 180 s"); return }
                try await Task.sleep(for: .seconds(2))
            }
            // Deletions now, after compaction, so that they stay tombstones in the snapshot.
            let deleted = seeded[3].labels
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            let form = "match[]=\(deleted.description.addingPercentEncoding(withAllowedCharacters: allowed)!)"
                + "&start=\(Double(end - 30 * Self.hour) / 1000)&end=\(Double(end - 28 * Self.hour) / 1000)"
            let (status, body) = try await HTTPProbe.post(server.baseURL + "/api/v1/admin/tsdb/delete_series", body: Array(form.utf8),
                                                          headers: [("Content-Type", "application/x-www-form-urlencoded"),
                                                                    // Prometheus gzips its empty 204 answer, which the decompressor calls truncated.
                                                                    ("Accept-Encoding", "identity")])
            #expect(status == 204, "delete_series: \(status) \(body)")
            let (snapshotStatus, snapshotBody) = try await HTTPProbe.post(server.baseURL + "/api/v1/admin/tsdb/snapshot", body: [], headers: [])
            #expect(snapshotStatus == 200, "\(snapshotBody)")
            let name = try #require((try JSONSerialization.jsonObject(with: Data(snapshotBody.utf8)) as? [String: Any])
                .flatMap { $0["data"] as? [String: Any] }?["name"] as? String)
            snapshot = work.path + "/snapshot"
            try FileManager.default.copyItem(atPath: server.dataDirectory + "/snapshots/" + name, toPath: snapshot)
        }

        // The snapshot holds what this test is about.
        let metas = try Self.metas(snapshot)
        #expect(metas.contains { Self.level($0) >= 3 }, "no block of compaction level 3 in the snapshot")
        let blocks = try FileManager.default.contentsOfDirectory(atPath: snapshot)
        #expect(blocks.contains { (FileManager.default.contents(atPath: "\(snapshot)/\($0)/tombstones")?.count ?? 0) > 9 },
                "no block of the snapshot has tombstones")

        let (startMs, endMs) = (end - 48 * Self.hour, now)
        let offline = work.path + "/offline"
        let summary = try await Self.export(source: snapshot, kind: .tsdb, to: offline, startMs, endMs)
        #expect(summary.complete)
        let online = work.path + "/online"
        try await PrometheusServer.with(options: .init(extraArguments: ["--enable-feature=native-histograms"], copyBlocksFrom: snapshot)) { server in
            _ = try await Self.export(source: server.readURL, kind: .remoteRead, to: online, startMs, endMs)
        }
        let got = try Self.contents(offline)
        let want = try Self.contents(online)
        #expect(got.count == want.count)
        for (labels, series) in want.sorted(by: { $0.key < $1.key }) {
            let mine = try #require(got[labels], "\(labels) is missing from the offline export")
            #expect(mine.samples == series.samples, "\(labels): \(mine.samples.count) float samples offline, \(series.samples.count) online")
            #expect(mine.histograms == series.histograms, "\(labels): histograms differ")
        }
        // And what went in is there: overlaps merged, deletions applied, markers, histograms.
        let first = try #require(got[seeded[0].labels])
        #expect(first.samples.contains { $0.value == 0.5 })
        #expect(Set(first.samples.map(\.timestampMs)).count == first.samples.count)
        let thinned = try #require(got[seeded[3].labels])
        #expect(!thinned.samples.contains { $0.timestampMs >= end - 30 * Self.hour && $0.timestampMs <= end - 28 * Self.hour })
        #expect(thinned.samples.count < seeded[3].samples.count)
        let written = try #require(got[inOrder[0].labels])
        #expect(written.samples.contains { $0.valueBits == Sample.staleNaNBits })
        #expect(got.values.filter { !$0.histograms.isEmpty }.count == histograms.count)
        #expect(got[outOfOrderLabels]?.samples == outOfOrder.samples + outOfOrderLatest.samples)

        // The two promtool backfills overlap; Prometheus merges them when it compacts (vertically), the
        // reader when it reads: both must give the same series.
        let seedMetas = try Self.metas(data).compactMap { meta in (meta["minTime"] as? Int64).flatMap { a in (meta["maxTime"] as? Int64).map { (a, $0) } } }
        #expect(seedMetas.contains { a in seedMetas.contains { b in a != b && a.0 < b.1 && b.0 < a.1 } }, "the seed blocks do not overlap")
        let (seedStart, seedEnd) = (end - 48 * Self.hour, end - 6 * Self.hour)
        _ = try await Self.export(source: data, kind: .tsdb, to: work.path + "/seed-offline", seedStart, seedEnd)
        try await PrometheusServer.with(options: .init(copyBlocksFrom: data)) { server in
            _ = try await Self.export(source: server.readURL, kind: .remoteRead, to: work.path + "/seed-online", seedStart, seedEnd)
        }
        let seedOffline = try Self.contents(work.path + "/seed-offline")
        #expect(seedOffline == (try Self.contents(work.path + "/seed-online")))
        #expect(seedOffline[seeded[0].labels]?.samples.count == seeded[0].samples.count + overlap[0].samples.count / 2)
    }
}

/// `--source-tsdb` through the real `prom-export` binary: its usage errors, its note about the WAL,
/// its exit statuses, and a resume that finds the same directory again.
@Suite struct TSDBSourceCommandTests {
    /// A work directory whose `data` holds `history` as promtool's blocks (one per 2 h).
    static func promtoolBlocks(_ history: SampleHistory, prefix: String) throws -> (work: TemporaryDirectory, data: String) {
        let work = try TemporaryDirectory(prefix: prefix)
        try OpenMetricsFile.write(history.series(), to: work.path + "/h.om")
        let data = work.path + "/data"
        _ = try Command.run(try PeerBinary.find("promtool"), ["tsdb", "create-blocks-from", "openmetrics", work.path + "/h.om", data])
        return (work, data)
    }

    /// Every block keeps its index and chunk files open, so many blocks can exhaust the open-file limit.
    /// Under a hard limit of 40, 40 blocks are refused with the limit and what they need, and no archive
    /// is left; under a soft limit of 40 only, the export raises its own soft limit and reads them all.
    @Test func manyBlocksAndTheOpenFileLimit() async throws {
        let history = SampleHistory(seriesCount: 2, startMs: 1_764_892_800_000, endMs: 1_764_892_800_000 + 80 * 3_600_000, intervalMs: 300_000)
        let (work, data) = try Self.promtoolBlocks(history, prefix: "promferry-tsdb-nofile")
        defer { work.remove() }
        #expect(try TSDBSourceTests.metas(data).count >= 40)
        let prlimit = try PeerBinary.find("prlimit")
        let arguments = [try Executables.path("prom-export"), "-q", "--source-tsdb", data, "--start", "\(history.startMs / 1000)",
                         "--end", "\(history.endMs / 1000)"]
        let archive = work.path + "/archive"

        let refused = try await Executables.run(prlimit, ["--nofile=40:40"] + arguments + ["-a", archive])
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("the limit of 40 open files (ulimit -n) is reached"), "\(refused.stderr)")
        #expect(refused.stderr.contains("blocks in \(data), which keep their index and chunk files open"), "\(refused.stderr)")
        #expect(refused.stderr.contains("ulimit -n "), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: archive))

        let raised = try await Executables.run(prlimit, ["--nofile=40:"] + arguments + ["-a", archive])
        #expect(raised.status == 0, "\(raised.stderr)")
        #expect(try SeriesComparison.archiveContents(archive) == Dictionary(uniqueKeysWithValues: history.series().map { ($0.labels, $0.samples) }))
    }

    @Test func usageMistakesAndARunThatResumes() async throws {
        let history = SampleHistory(seriesCount: 4, startMs: 1_764_892_800_000, endMs: 1_764_892_800_000 + 4 * 3_600_000, intervalMs: 60_000)
        let (work, data) = try Self.promtoolBlocks(history, prefix: "promferry-tsdb-cli")
        defer { work.remove() }
        try FileManager.default.createDirectory(atPath: data + "/wal", withIntermediateDirectories: true)
        try Data([0, 1]).write(to: URL(fileURLWithPath: data + "/wal/00000000"))
        let archive = work.path + "/archive"
        let range = ["--start", "\(history.startMs / 1000)", "--end", "\(history.endMs / 1000)"]

        func expectUsage(_ arguments: [String], _ fragment: String) async throws {
            let outcome = try await Executables.run("prom-export", ["-q", "-a", archive] + range + arguments)
            #expect(outcome.status == 64, "\(arguments): exit \(outcome.status): \(outcome.stderr)")
            #expect(outcome.stderr.contains(fragment), "\(arguments): \(outcome.stderr)")
        }
        try await expectUsage(["--source-tsdb", work.path + "/nope"], "is not a directory")
        try await expectUsage(["--source-tsdb", data, "--source-url", "http://127.0.0.1:9/api/v1/read"], "exclude each other")
        try await expectUsage(["--source-tsdb", data, "--bearer-token-file", work.path + "/token"], "--bearer-token-file applies to a URL source")
        try await expectUsage(["--source-tsdb", data, "--response-type", "samples"], "--response-type applies to remote read")
        try await expectUsage(["--source-tsdb", "http://127.0.0.1:9090"], "is a URL")
        #expect(!FileManager.default.fileExists(atPath: archive))

        let refused = try await Executables.run("prom-export", ["-q", "-a", archive, "--source-tsdb", data + "/wal"] + range)
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("no TSDB block"), "\(refused.stderr)")

        // Relative to another working directory, the same blocks: the manifest records the absolute path.
        let first = try await Executables.run("prom-export", ["-a", archive, "--source-tsdb", data, "--slab", "1h", "--max-slab", "1h"] + range)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("wal holds the head"), "\(first.stderr)")
        let again = try await Executables.run("prom-export", ["-q", "-a", archive, "--source-tsdb", data + "/../data"] + range)
        #expect(again.status == 0, "\(again.stderr)")
        let manifest = try String(contentsOfFile: archive + "/manifest.json", encoding: .utf8)
        #expect(manifest.contains("\"kind\" : \"tsdb\"") || manifest.contains("\"kind\":\"tsdb\""), "\(manifest)")
        let want = Dictionary(uniqueKeysWithValues: history.series().map { ($0.labels, $0.samples) })
        #expect(try SeriesComparison.archiveContents(archive) == want)
        let inspected = try await Executables.run("prom-archive", ["inspect", "-a", archive])
        #expect(inspected.stdout.contains("(TSDB blocks on disk)"), "\(inspected.stdout)")

        // Without --slab, the first slabs share the 4 h among the reads: two reads, two slabs of 2 h.
        let spread = work.path + "/spread"
        let wide = try await Executables.run("prom-export", ["-q", "-a", spread, "--source-tsdb", data, "--concurrency", "2"] + range)
        #expect(wide.status == 0, "\(wide.stderr)")
        let slabs = try ArchiveDirectory(root: spread).readManifest().slabs
        #expect(slabs.map { $0.endMs - $0.startMs } == [2 * 3_600_000, 2 * 3_600_000])
        #expect(try SeriesComparison.archiveContents(spread) == want)
    }
}
