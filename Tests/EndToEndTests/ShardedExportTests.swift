import ArchiveFormat
import ArchiveStore
import Foundation
import PeerHarness
import PrometheusWire
import Synchronization
import Testing
import TestSupport

/// `prom-export --shard I/N` against a real Prometheus: four workers at once, one of them SIGKILLed
/// and re-run, each writing the archive of its part of the range; `prom-archive merge` joins the
/// four into exactly what one whole export holds, and refuses an incomplete set.
@Suite struct ShardedExportTests {
    static let hour: Int64 = 3_600_000

    @Test func fourPartsMergeIntoTheWholeExport() async throws {
        let work = try TemporaryDirectory(prefix: "promferry-shard-export")
        defer { work.remove() }
        let end = Int64(Date().timeIntervalSince1970 * 1000) / Self.hour * Self.hour - Self.hour
        let start = end - 10 * Self.hour
        let history = SampleHistory(seriesCount: 200, startMs: start, endMs: end, intervalMs: 15_000, seed: 12)
        try OpenMetricsFile.write(history.series(), to: work.path + "/history.om")
        try await PrometheusServer.with(openMetricsFile: work.path + "/history.om") { server in
            let common = ["--source-url", server.readURL, "--start", "\(start / 1000)", "--end", "\(end / 1000)", "--slab", "5m", "-q"]
            // The whole job, for comparison.
            let whole = try await Executables.run("prom-export", common + ["-a", work.path + "/whole"])
            #expect(whole.status == 0, "\(whole.stderr)")

            // Part 2 is killed once it has committed a slab; the other parts run while it is down, then it is re-run.
            let killedArchive = work.path + "/part-2"
            // Fixed 5 min slabs, one read at a time, for a kill between two commits.
            let killed = try Executables.start("prom-export", common + ["-a", killedArchive, "--shard", "2/4", "--concurrency", "1",
                                                                         "--max-slab", "5m", "--max-memory", "80MiB"])
            // Watched from a thread of its own, which a busy test run cannot starve as it can the task pool.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    let deadline = Date().addingTimeInterval(60)
                    while killed.isRunning, Date() < deadline,
                          ((try? ArchiveDirectory(root: killedArchive).readManifest().slabs.count) ?? 0) < 1 {
                        usleep(500)
                    }
                    kill(killed.processIdentifier, SIGKILL)
                    killed.waitUntilExit()
                    done.resume()
                }
            }
            let atKill = try ArchiveDirectory(root: killedArchive).readManifest()
            #expect(!atKill.complete && atKill.slabs.count >= 1, "the kill came after \(atKill.slabs.count) slabs, complete: \(atKill.complete)")
            let parts = try await withThrowingTaskGroup(of: Executables.Outcome.self) { group in
                for index in [0, 1, 3] {
                    group.addTask { try await Executables.run("prom-export", common + ["-a", work.path + "/part-\(index)", "--shard", "\(index)/4"]) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for outcome in parts { #expect(outcome.status == 0, "\(outcome.stderr)") }
            let rerun = try await Executables.run("prom-export", common + ["-a", killedArchive, "--shard", "2/4"])
            #expect(rerun.status == 0, "\(rerun.stderr)")

            // Each part holds its part of the range on the 5 min grid (10 h in 4 parts of 2.5 h) and records the job.
            var starts: [Int64] = []
            for index in 0..<4 {
                let manifest = try ArchiveDirectory(root: work.path + "/part-\(index)").readManifest()
                #expect(manifest.complete)
                #expect(manifest.shard == Manifest.ShardPart(index: index, count: 4, by: "time", jobStartMs: start, jobEndMs: end))
                #expect((manifest.selection.startMs - start) % 300_000 == 0)
                starts.append(manifest.selection.startMs)
            }
            #expect(starts == [start, start + 5 * Self.hour / 2, start + 5 * Self.hour, start + 15 * Self.hour / 2])

            let inspect = try await Executables.run("prom-archive", ["inspect", "-a", work.path + "/part-1"])
            #expect(inspect.stdout.contains("part          1/4 of a job split by time over ["), "\(inspect.stdout)")

            // A resume as another part is refused.
            let other = try await Executables.run("prom-export", common + ["-a", work.path + "/part-1", "--shard", "3/4"])
            #expect(other.status != 0 && other.stderr.contains("part 1/4"), "\(other.stderr)")
            let tooMany = try await Executables.run("prom-export", common + ["-a", work.path + "/x", "--shard", "0/121"])
            #expect(tooMany.status == 64 && tooMany.stderr.contains("fewer than 121 slabs"), "\(tooMany.stderr)")
        }

        // An incomplete set is refused, naming what is missing; the whole set merges into the whole export.
        let incomplete = try await Executables.run("prom-archive", ["merge", "-a", work.path + "/part-0", "-a", work.path + "/part-1",
                                                                    "-a", work.path + "/part-3", work.path + "/partial"])
        #expect(incomplete.status != 0 && incomplete.stderr.contains("part 2/4 is missing"), "\(incomplete.stderr)")
        let merge = try await Executables.run("prom-archive", ["merge"] + (0..<4).flatMap { ["-a", work.path + "/part-\($0)"] } + [work.path + "/merged"])
        #expect(merge.status == 0, "\(merge.stderr)")
        let merged = try ArchiveDirectory(root: work.path + "/merged").readManifest()
        #expect(merged.complete && merged.shard == nil)
        #expect(try TSDBSourceTests.contents(work.path + "/merged") == (try TSDBSourceTests.contents(work.path + "/whole")))
        let verify = try await Executables.run("prom-archive", ["verify", "-a", work.path + "/merged"])
        #expect(verify.status == 0, "\(verify.stdout)")
    }
}

/// `prom-export --shard I/N --shard-by series`: three parts by metric name (one of them owning none), from a real Prometheus
/// through remote read and from its data directory offline, each merged into exactly the whole export.
@Suite struct SeriesShardedExportTests {
    static let hour: Int64 = 3_600_000

    @Test func threePartsByMetricNameMergeIntoTheWholeExport() async throws {
        let work = try TemporaryDirectory(prefix: "promferry-shard-series")
        defer { work.remove() }
        let end = Int64(Date().timeIntervalSince1970 * 1000) / Self.hour * Self.hour - Self.hour
        let start = end - 6 * Self.hour
        let history = SampleHistory(seriesCount: 40, startMs: start, endMs: end, intervalMs: 30_000, seed: 21)
        let names = Set(history.series().compactMap(\.labels.metricName))
        let byPart = Dictionary(grouping: names, by: { Manifest.ShardPart.part(ofMetric: $0, count: 3) })
        // Five names in three parts: two parts own names, one owns none (and exports an empty archive).
        #expect(byPart.count == 2, "\(byPart)")
        try OpenMetricsFile.write(history.series(), to: work.path + "/history.om")
        try await PrometheusServer.with(openMetricsFile: work.path + "/history.om") { server in
            for (label, source) in [("remote", ["--source-url", server.readURL]), ("tsdb", ["--source-tsdb", server.dataDirectory])] {
                let common = source + ["--start", "\(start / 1000)", "--end", "\(end / 1000)", "--slab", "1h", "-q"]
                let whole = try await Executables.run("prom-export", common + ["-a", work.path + "/\(label)-whole"])
                #expect(whole.status == 0, "\(whole.stderr)")
                for index in 0..<3 {
                    let part = try await Executables.run("prom-export", common + ["-a", work.path + "/\(label)-part-\(index)",
                                                                                 "--shard", "\(index)/3", "--shard-by", "series"])
                    #expect(part.status == 0, "\(label) part \(index): \(part.stderr)")
                    let manifest = try ArchiveDirectory(root: work.path + "/\(label)-part-\(index)").readManifest()
                    #expect(manifest.shard?.by == "series" && manifest.shard?.metricNames == (byPart[index] ?? []).sorted(), "\(String(describing: manifest.shard))")
                    #expect(manifest.selection.startMs == start && manifest.selection.endMs == end)
                    let partNames = Set(try TSDBSourceTests.contents(work.path + "/\(label)-part-\(index)").keys.compactMap(\.metricName))
                    #expect(partNames == Set(byPart[index] ?? []), "\(label) part \(index) holds \(partNames)")
                }
                // A resume by time of a part by series is refused.
                let other = try await Executables.run("prom-export", common + ["-a", work.path + "/\(label)-part-0", "--shard", "0/3"])
                #expect(other.status != 0 && other.stderr.contains("part 0/3 (by series)"), "\(other.stderr)")
                let merge = try await Executables.run("prom-archive", ["merge"] + (0..<3).flatMap { ["-a", work.path + "/\(label)-part-\($0)"] }
                                                      + [work.path + "/\(label)-merged"])
                #expect(merge.status == 0, "\(merge.stderr)")
                #expect(try TSDBSourceTests.contents(work.path + "/\(label)-merged") == (try TSDBSourceTests.contents(work.path + "/\(label)-whole")))
                let verify = try await Executables.run("prom-archive", ["verify", "-a", work.path + "/\(label)-merged"])
                #expect(verify.status == 0, "\(verify.stdout)")
            }
            let usage = try await Executables.run("prom-export", ["--source-url", server.readURL, "--start", "\(start / 1000)", "--end",
                                                                  "\(end / 1000)", "-a", work.path + "/x", "--shard", "0/3", "--shard-by", "series",
                                                                  "--slab", "1h", "--max-slab", "6h"])
            #expect(usage.status == 64 && usage.stderr.contains("fixed slabs"), "\(usage.stderr)")
        }
    }
}

/// The whole split migration on this machine, through a bucket: four export workers against one
/// Prometheus write their parts to SeaweedFS (`s3://archives/job-BY/shard-I`), one of them SIGKILLed
/// and re-run; the parts are merged inside the store (server-side copies, seen through a proxy);
/// then four import workers read the merged archive from the bucket into one VictoriaMetrics and
/// four into a second Prometheus, and both targets end with every sample of the source.
@Suite(.serialized) struct SplitMigrationTests {
    static let hour: Int64 = 3_600_000

    @Test(arguments: ["series", "time"])
    func fourExportersAndFourImportersMoveEverySampleThroughABucket(by: String) async throws {
        let work = try TemporaryDirectory(prefix: "promferry-split-migration")
        defer { work.remove() }
        let end = Int64(Date().timeIntervalSince1970 * 1000) / Self.hour * Self.hour - Self.hour
        let start = end - 4 * Self.hour
        let series = SampleHistory(seriesCount: 60, startMs: start, endMs: end, intervalMs: 30_000, seed: 31).series()
        try OpenMetricsFile.write(series, to: work.path + "/history.om")
        let expected = Dictionary(uniqueKeysWithValues: series.map { ($0.labels, $0.samples) })
        try await SeaweedServer.with { store in
            try store.makeBucket("archives")
            let env = store.environment.merging(["PROMFERRY_S3_LOCK_LEASE": "3"]) { $1 }
            let job = "s3://archives/job-\(by)"
            try await PrometheusServer.with(openMetricsFile: work.path + "/history.om") { source in
                let common = ["--source-url", source.readURL, "--start", "\(start / 1000)", "--end", "\(end / 1000)", "--slab", "5m",
                              "--max-slab", "5m", "--concurrency", "1", "-q", "--shard-by", by]
                // One worker is SIGKILLed once its first slab is committed, while the others run; then it is re-run.
                // By series, it is the one owning the most metric names (another may own none and finish at once).
                let names = Dictionary(grouping: Set(series.compactMap(\.labels.metricName)), by: { Manifest.ShardPart.part(ofMetric: $0, count: 4) })
                let victim = by == "time" ? 2 : names.max { $0.value.count < $1.value.count }!.key
                // It reaches the store through a proxy that holds every request from the SHA256SUMS write that follows
                // its second manifest write (the first is the empty manifest of a new export, the second commits the
                // first slab) on, so it is certainly still at work, with one slab committed, when it is killed,
                // however quick its part and however busy the machine.
                let gate = Mutex((manifestWrites: 0, holding: false))
                let slow = try await ScriptedHTTPServer { request, _ in
                    let hold = gate.withLock { state -> Bool in
                        guard !state.holding, request.method == "PUT" else { return state.holding }
                        if request.uri.contains("/manifest.json") { state.manifestWrites += 1 }
                        if request.uri.contains("/SHA256SUMS"), state.manifestWrites >= 2 { state.holding = true }
                        return state.holding
                    }
                    return hold ? .delay(milliseconds: 600_000, then: .close) : .forward(baseURL: store.endpoint, cutAfter: nil)
                }
                let killed = try Executables.start("prom-export", common + ["-a", job + "/shard-\(victim)", "--shard", "\(victim)/4",
                                                                             "--s3-endpoint", slow.baseURL], environment: env)
                // Watched from a thread of its own, which the busy workers cannot starve as they can the task pool.
                async let killedMidway: Bool = withCheckedContinuation { done in
                    DispatchQueue.global().async {
                        let deadline = Date().addingTimeInterval(120)
                        while killed.isRunning, Date() < deadline, !gate.withLock({ $0.holding }) { usleep(1000) }
                        let running = killed.isRunning && gate.withLock { $0.holding }
                        kill(killed.processIdentifier, SIGKILL)
                        killed.waitUntilExit()
                        done.resume(returning: running)
                    }
                }
                let exports = try await withThrowingTaskGroup(of: Executables.Outcome.self) { group in
                    for index in (0..<4).filter({ $0 != victim }) {
                        group.addTask {
                            try await Executables.run("prom-export", common + ["-a", job + "/shard-\(index)", "--shard", "\(index)/4"], environment: env)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for outcome in exports { #expect(outcome.status == 0, "\(outcome.stderr)") }
                let wasRunning = await killedMidway
                try await slow.shutdown()
                print("\(by): worker \(victim) \(wasRunning ? "SIGKILLed mid-export" : "had finished before the kill")")
                #expect(wasRunning)
                let rerun = try await Executables.run("prom-export", common + ["-a", job + "/shard-\(victim)", "--shard", "\(victim)/4"], environment: env)
                #expect(rerun.status == 0, "\(rerun.stderr)")
            }
            // The merge reaches the store through a proxy that records what it is asked: segments are copied
            // inside the store (x-amz-copy-source), never uploaded again.
            let proxy = try await ScriptedHTTPServer { _, _ in .forward(baseURL: store.endpoint, cutAfter: nil) }
            let merged = job + "/merged"
            let merge = try await Executables.run("prom-archive", ["merge"] + (0..<4).flatMap { ["-a", job + "/shard-\($0)"] }
                                                  + ["--s3-endpoint", proxy.baseURL, merged], environment: env)
            try await proxy.shutdown()
            #expect(merge.status == 0, "\(merge.stderr)")
            let puts = proxy.received.filter { $0.method == "PUT" }
            let copies = puts.filter { $0.header("x-amz-copy-source") != nil }
            #expect(!copies.isEmpty && puts.allSatisfy { $0.header("x-amz-copy-source") != nil || !$0.uri.contains("/segments/") },
                    "\(puts.map(\.uri))")

            try await VictoriaMetricsServer.with { victoria in
                try await PrometheusServer.with { prometheus in
                    let imports = try await withThrowingTaskGroup(of: Executables.Outcome.self) { group in
                        for (target, name) in [(victoria.writeURL, "vm"), (prometheus.writeURL, "prom")] {
                            for index in 0..<4 {
                                group.addTask {
                                    try await Executables.run("prom-import", ["-a", merged, "--target-url", target, "--shard", "\(index)/4", "-q",
                                                                             "--state", work.path + "/\(name)-\(index).state"], environment: env)
                                }
                            }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    for outcome in imports { #expect(outcome.status == 0, "\(outcome.stderr)") }
                    let (_, vmDifferences) = try await victoria.readBack(expected: VictoriaMetricsServer.storable(expected), startMs: start, endMs: end)
                    #expect(vmDifferences.isEmpty, "VictoriaMetrics: \(vmDifferences.prefix(5))")
                    let stored = try await SeriesComparison.remoteContents(url: prometheus.readURL, startMs: start, endMs: end,
                                                                           responseTypes: [.streamedXORChunks])
                    let differences = SeriesComparison.differences(expected: expected, actual: stored)
                    #expect(differences.isEmpty, "Prometheus: \(differences.prefix(5))")
                    #expect(SeriesComparison.sampleCount(stored) == SeriesComparison.sampleCount(expected))
                }
            }
        }
    }
}
