import Foundation
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Testing
import TestSupport

/// Native histograms written into a real Prometheus 2.42 (`--enable-feature=native-histograms`) through
/// remote write, then read back as streamed chunks: the HISTOGRAM (2) and FLOAT_HISTOGRAM (3) chunks
/// that Prometheus itself encoded, decoded by `HistogramChunk`.
@Suite(.serialized) struct NativeHistogramReadTests {
    static let hour: Int64 = 3_600_000

    static func readAll(_ server: PrometheusServer, _ startMs: Int64, _ endMs: Int64) async throws -> (ReadOutcome, [Labels: Series]) {
        let client = try RemoteReadClient(endpoint: EndpointConfiguration(url: server.readURL))
        var got: [Labels: Series] = [:]
        do {
            let outcome = try await client.read(startMs: startMs, endMs: endMs, matchers: [LabelMatcher("__name__", .regexMatch, ".+")],
                                                logger: Logger(label: "test")) { got[$0.labels] = $0 }
            try await client.shutdown()
            return (outcome, got)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test func decodesTheChunksPrometheusWrites() async throws {
        let now = Int64(Date().timeIntervalSince1970) * 1000
        let history = HistogramHistory(seriesCount: 24, startMs: now - 2 * Self.hour, endMs: now - 60_000)
        let sent = history.series()
        try await PrometheusServer.with(options: .init(extraArguments: ["--enable-feature=native-histograms"])) { server in
            try await RemoteWriteSeeder.writeInTimeOrder(sent, to: server.writeURL)
            let (outcome, got) = try await Self.readAll(server, history.startMs, history.endMs)
            #expect(outcome.kind == .streamedChunks)
            #expect(got.count == sent.count)
            for series in sent {
                let read = try #require(got[series.labels], "\(series.labels) did not come back")
                #expect(read.samples.isEmpty)
                #expect(read.histograms.count == series.histograms.count, "\(series.labels)")
                let differing = zip(series.histograms, read.histograms).filter {
                    HistogramComparison.meaning($0) != HistogramComparison.meaning($1)
                }
                #expect(differing.isEmpty, "\(series.labels): first difference sent \(differing.first.map { HistogramComparison.meaning($0.0) }.map(String.init(describing:)) ?? "") read \(differing.first.map { HistogramComparison.meaning($0.1) }.map(String.init(describing:)) ?? "")")
                // Finished chunks keep their flags; the newest chunk is re-encoded for the read and comes back
                // as "unknown" then "no reset" whatever it held (the measurement, pinned here).
                let hints = read.histograms.map { String($0.resetHint.rawValue) }.joined()
                switch history.kind(of: Int(series.labels["instance"]!.dropFirst(4))!) {
                case .gauge:
                    let tail = hints.drop { $0 == "3" }
                    #expect(tail.count < hints.count / 2 && (tail.isEmpty || tail.dropFirst().allSatisfy { $0 == "2" } && tail.first == "0"),
                            "\(series.labels): \(hints)")
                case .counter:
                    // The reset half-way starts a chunk flagged "counter reset".
                    #expect(read.histograms[read.histograms.count / 2].resetHint == .yes, "\(series.labels): \(hints)")
                default:
                    break
                }
            }
        }
    }

    static func gauge(_ t: Int64, count: UInt64) -> HistogramSample {
        HistogramSample(timestampMs: t, resetHint: .gauge, schema: 0, sumBits: Double(count).bitPattern,
                        positiveSpans: [HistogramSample.Span(offset: 0, length: 1)],
                        counts: .integer(count: count, zeroCount: 0, positiveDeltas: [Int64(count)], negativeDeltas: []))
    }

    /// Prometheus 2.42 fails a read whose open chunk is a gauge histogram that went down. The answer
    /// arrives mid-stream as text; it is named for what it is and not retried.
    @Test func aGaugeHistogramGoingDownInItsOpenChunkIsNamed() async throws {
        let now = Int64(Date().timeIntervalSince1970) * 1000
        let labels = Labels(sorting: [Label("__name__", "queue_depth"), Label("job", "app")])
        let samples = (0..<6).map { Self.gauge(now - 600_000 + Int64($0) * 15_000, count: [5, 9, 4, 7, 2, 3][$0]) }
        try await PrometheusServer.with(options: .init(extraArguments: ["--enable-feature=native-histograms"])) { server in
            try await RemoteWriteSeeder.write([Series(labels: labels, samples: [], histograms: samples)], to: server.writeURL)
            let error = await #expect(throws: RemoteStorageError.self) { try await Self.readAll(server, now - 3_600_000, now) }
            #expect(error?.code == .unstorable)
            #expect(error?.isRetryable == false)
            #expect(error?.message.contains("gauge histogram whose counts go down") == true, "\(String(describing: error))")
        }
    }

    /// Histograms and floats from one Prometheus 2.42 through an archive into another, and `--verify`.
    /// Compared by meaning (`HistogramSample.canonicalForm`): 2.42 re-lays out and re-flags what it stores.
    /// One slab holds all three hours: series after series, which 2.42 takes only in time windows
    /// (it refuses a histogram an hour older than its newest sample; `ImportPipeline.deliveryWindows`,
    /// `DeliveryBarrier`).
    @Test func roundTripThroughAnArchiveIntoAnotherPrometheus() async throws {
        let now = Int64(Date().timeIntervalSince1970) * 1000
        let startMs = now - 3 * Self.hour, endMs = now - 60_000
        let history = HistogramHistory(seriesCount: 24, startMs: startMs, endMs: endMs, gaugesGoDown: false)
        var sent = history.series()
        // One series changes from floats to histograms and back.
        let switching = Labels(sorting: [Label("__name__", "switching"), Label("job", "app")])
        sent.append(Series(labels: switching,
                           samples: (0..<40).map { Sample(timestampMs: startMs + Int64($0) * 15_000, value: Double($0)) }
                               + (80..<120).map { Sample(timestampMs: startMs + Int64($0) * 15_000, value: Double($0)) },
                           histograms: (40..<80).map { Self.gauge(startMs + Int64($0) * 15_000, count: UInt64($0)) }))
        let flags = ["--enable-feature=native-histograms"]
        try await PrometheusServer.with(options: .init(extraArguments: flags)) { source in
            try await RemoteWriteSeeder.writeInTimeOrder(sent, to: source.writeURL)
            let dir = try TemporaryDirectory(); defer { dir.remove() }
            let archive = dir.path + "/archive"
            let export = try await Executables.run("prom-export", ["--quiet", "--source-url", source.readURL, "-o", archive,
                                                                   "--start", "\(startMs)", "--end", "\(endMs)", "--slab", "4h"])
            #expect(export.status == 0, "\(export.stderr)")
            let inArchive = try HistogramComparison.archiveHistograms(archive)
            let atSource = try await HistogramComparison.remoteHistograms(url: source.readURL, startMs: startMs, endMs: endMs)
            #expect(inArchive.count == history.seriesCount + 1)
            #expect(inArchive == atSource)
            let floats = try SeriesComparison.archiveContents(archive)
            #expect(floats[switching] == sent.last!.samples)

            try await PrometheusServer.with(options: .init(extraArguments: flags)) { target in
                // Small batches over several senders: each window must land whole before the next is read,
                // or one sender runs an hour ahead of another and 2.42 refuses the late one.
                let outcome = try await Executables.run("prom-import", ["--quiet", "-a", archive, "--target-url", target.writeURL,
                                                                        "--verify", "--target-read-url", target.readURL,
                                                                        "--concurrency", "4", "--batch-samples", "100",
                                                                        "--state", dir.path + "/state"])
                #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
                #expect(outcome.stdout.contains("verification    passed"), "\(outcome.stdout)")
                let atTarget = try await HistogramComparison.remoteHistograms(url: target.readURL, startMs: startMs, endMs: endMs)
                #expect(atTarget == inArchive)
            }
        }
    }

    /// Targets that cannot keep histograms are named, never retried, and nothing is counted as delivered:
    /// Prometheus 2.42 without the feature flag answers 500; VictoriaMetrics 1.79 answers 204 and discards them.
    @Test func targetsThatCannotKeepHistogramsStopTheImport() async throws {
        let now = Int64(Date().timeIntervalSince1970) * 1000
        let history = HistogramHistory(seriesCount: 6, startMs: now - 1_800_000, endMs: now - 60_000, gaugesGoDown: false)
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let archive = dir.path + "/archive"
        let floats = Series(labels: Labels(sorting: [Label("__name__", "up"), Label("job", "app")]),
                            samples: (0..<100).map { Sample(timestampMs: history.startMs + Int64($0) * 15_000, value: 1) })
        try await PrometheusServer.with(options: .init(extraArguments: ["--enable-feature=native-histograms"])) { source in
            try await RemoteWriteSeeder.writeInTimeOrder(history.series() + [floats], to: source.writeURL)
            let export = try await Executables.run("prom-export", ["--quiet", "--source-url", source.readURL, "-o", archive,
                                                                   "--start", "\(history.startMs)", "--end", "\(history.endMs)"])
            #expect(export.status == 0, "\(export.stderr)")
        }
        func expectRefusal(_ url: String, _ fragment: String, state: String) async throws {
            let outcome = try await Executables.run("prom-import", ["--quiet", "-a", archive, "--target-url", url, "--state", dir.path + "/" + state])
            #expect(outcome.status == 1, "\(outcome.stderr)")
            #expect(outcome.stderr.split(separator: "\n").count == 1, "\(outcome.stderr)")
            #expect(outcome.stderr.contains(fragment), "\(outcome.stderr)")
            #expect(outcome.seconds < 30)
        }
        try await PrometheusServer.with { plain in
            try await expectRefusal(plain.writeURL, "start that Prometheus with --enable-feature=native-histograms", state: "p")
        }
        try await VictoriaMetricsServer.with { vm in
            try await expectRefusal(vm.writeURL, "acknowledges native histograms and discards them", state: "v")
            // --histograms drop sends the rest, and says how much it left out.
            let outcome = try await Executables.run("prom-import", ["-a", archive, "--target-url", vm.writeURL, "--histograms", "drop",
                                                                    "--quiet", "--state", dir.path + "/d"])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stdout.contains("DROPPED         \(history.sampleCount) native-histogram samples (--histograms drop)"),
                    "\(outcome.stdout)")
            let (_, differences) = try await vm.readBack(expected: [floats.labels: floats.samples], startMs: history.startMs,
                                                         endMs: history.endMs)
            #expect(differences.isEmpty, "\(differences)")
        }
    }

    /// A zero-length span makes Prometheus 2.42 panic on a series' second histogram and hang every write
    /// after. The archive keeps such spans as the source wrote them; the importer folds them away.
    @Test func zeroLengthSpansAreFoldedBeforeTheyReachPrometheus() async throws {
        let now = Int64(Date().timeIntervalSince1970) * 1000
        let startMs = now - 1_800_000
        let spans = [HistogramSample.Span(offset: 0, length: 1), HistogramSample.Span(offset: 2, length: 0), HistogramSample.Span(offset: 1, length: 2)]
        let labels = Labels(sorting: [Label("__name__", "with_empty_span"), Label("job", "app")])
        let histograms: [HistogramSample] = (0..<10).map { (i: Int) -> HistogramSample in
            let t: Int64 = startMs + Int64(i) * 15_000
            let counts = HistogramSample.Counts.integer(count: UInt64(3 * i + 3), zeroCount: 0, positiveDeltas: [Int64(i + 1), 0, 0],
                                                        negativeDeltas: [])
            return HistogramSample(timestampMs: t, schema: 1, sumBits: Double(3 * i).bitPattern, positiveSpans: spans, counts: counts)
        }
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        try TestArchive.write([Series(labels: labels, samples: [], histograms: histograms)], at: dir.path + "/archive",
                              startMs: startMs / 3_600_000 * 3_600_000, slabMs: 3_600_000, slabs: 2)
        try await PrometheusServer.with(options: .init(extraArguments: ["--enable-feature=native-histograms"])) { target in
            let outcome = try await Executables.run("prom-import", ["--quiet", "-a", dir.path + "/archive", "--target-url", target.writeURL,
                                                                    "--verify", "--target-read-url", target.readURL, "--state", dir.path + "/state",
                                                                    "--request-timeout", "20s"])
            #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
            #expect(outcome.stdout.contains("verification    passed: 1/1 series, 10/10 samples"), "\(outcome.stdout)")
            #expect(try await HTTPProbe.status(target.baseURL + "/-/healthy") == 200)
        }
    }

    /// What Prometheus 2.42 does with a custom-bucket histogram (schema -53), pinned: it accepts the
    /// write but predates custom bounds, so its chunk has the schema and no bounds. The chunk format
    /// has bounds after the spans for that schema, so such a chunk cannot be read; the read stops
    /// naming the series instead of inventing bounds.
    @Test func customBucketsWrittenTo242ComeBackWithoutTheirBounds() async throws {
        let now = Int64(Date().timeIntervalSince1970) * 1000
        let custom = HistogramSample(timestampMs: now - 60_000, schema: HistogramSample.customBucketsSchema, sumBits: 3.0.bitPattern,
                                     positiveSpans: [HistogramSample.Span(offset: 0, length: 2)],
                                     counts: .integer(count: 3, zeroCount: 0, positiveDeltas: [1, 1], negativeDeltas: []),
                                     customValueBits: [0.5, 1.0].map(\.bitPattern))
        let labels = Labels(sorting: [Label("__name__", "custom_seconds"), Label("job", "app")])
        try await PrometheusServer.with(options: .init(extraArguments: ["--enable-feature=native-histograms"])) { server in
            try await RemoteWriteSeeder.write([Series(labels: labels, samples: [], histograms: [custom])], to: server.writeURL)
            let error = await #expect(throws: RemoteStorageError.self) { try await Self.readAll(server, now - 3_600_000, now) }
            #expect(error?.code == .protocolViolation)
            #expect(error?.message.contains("custom_seconds") == true, "\(String(describing: error))")
            #expect(error?.message.contains("custom bounds") == true, "\(String(describing: error))")
        }
    }

    /// Pinned: Prometheus 2.42's SAMPLES answer ends a series at its first native histogram, without
    /// an error (the reason `--response-type samples` warns). Streamed chunks carry both kinds.
    @Test func samplesAnswersOf242EndASeriesAtItsFirstHistogram() async throws {
        let now = Int64(Date().timeIntervalSince1970) * 1000
        let start = now - 1_800_000
        let floats = (0..<20).map { Sample(timestampMs: start + Int64($0) * 15_000, value: Double($0)) }
        let histograms = (20..<40).map { Self.gauge(start + Int64($0) * 15_000, count: UInt64($0)) }
        let series = Series(labels: Labels(sorting: [Label("__name__", "switching"), Label("job", "app")]), samples: floats, histograms: histograms)
        try await PrometheusServer.with(options: .init(extraArguments: ["--enable-feature=native-histograms"])) { server in
            try await RemoteWriteSeeder.write([series], to: server.writeURL)
            let (_, streamed) = try await Self.readAll(server, start, now)
            #expect(streamed[series.labels]?.samples == floats)
            #expect(streamed[series.labels]?.histograms.map(HistogramComparison.meaning) == histograms.map(HistogramComparison.meaning))
            let client = try RemoteReadClient(endpoint: EndpointConfiguration(url: server.readURL), responseTypes: [.samples])
            var got: [Series] = []
            let outcome = try await client.read(startMs: start, endMs: now, matchers: [LabelMatcher("__name__", .equal, "switching")],
                                                logger: Logger(label: "test")) { got.append($0) }
            try await client.shutdown()
            #expect(outcome.kind == .samples)
            #expect(got.map(\.samples) == [floats])
            #expect(got.map(\.histograms) == [[]])
        }
    }
}
