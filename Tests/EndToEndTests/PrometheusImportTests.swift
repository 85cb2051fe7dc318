import ArchiveStore
import ExportPipeline
import Foundation
import ImportPipeline
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Testing

/// Exports seeded history from a real Prometheus into an archive, for the import tests.
func exportedArchive(_ seeded: SeededHistory, into path: String, slabWidthMs: Int64 = SeededHistory.hourMs) async throws {
    try await seeded.withServer { server in
        let configuration = ExportConfiguration(
            source: EndpointConfiguration(url: server.readURL), selectors: [.everySeries],
            startMs: seeded.startMs, endMs: seeded.endMs, startArgument: "\(seeded.startMs)", endArgument: "\(seeded.endMs)",
            slabWidthMs: slabWidthMs, dropLabels: ["cluster"], archivePath: path)
        _ = try await ExportPipeline(configuration: configuration, logger: Logger(label: "e2e")).run()
    }
}

@Suite(.serialized) struct PrometheusImportTests {
    @Test func aSecondPrometheusEndsWithEverySampleBitForBit() async throws {
        let seeded = try SeededHistory(series: 80, hours: 4)
        defer { seeded.directory.remove() }
        let archive = seeded.directory.path + "/archive"
        try await exportedArchive(seeded, into: archive)
        try await PrometheusServer.with(options: .init(externalLabels: ["replica": "target"])) { target in
            let summary = try await ImportPipeline(configuration: ImportConfiguration(
                archivePath: archive, target: EndpointConfiguration(url: target.writeURL), batchSamples: 2000, concurrency: 3,
                verifyURL: target.readURL), logger: Logger(label: "e2e")).run()
            #expect(summary.complete)
            #expect(summary.samplesSent == SeriesComparison.sampleCount(seeded.expected))
            let verification = try #require(summary.verification)
            #expect(verification.passed, "\(verification.details.joined(separator: "\n"))")
            #expect(verification.samplesFound == summary.samplesSent)
            // Read back as chunks (which keep -0.0), independently of the verifier.
            let stored = try await SeriesComparison.remoteContents(url: target.readURL, startMs: seeded.startMs, endMs: seeded.endMs,
                                                                   responseTypes: [.streamedXORChunks])
            let withoutReplica = Dictionary(uniqueKeysWithValues: stored.map { ($0.key.removing(names: ["replica"]), $0.value) })
            let differences = SeriesComparison.differences(expected: seeded.expected, actual: withoutReplica)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        }
    }

    @Test func victoriaMetricsEndsWithEverySampleItCanHold() async throws {
        let seeded = try SeededHistory(series: 80, hours: 4)
        defer { seeded.directory.remove() }
        let archive = seeded.directory.path + "/archive"
        try await exportedArchive(seeded, into: archive)
        try await VictoriaMetricsServer.with { target in
            let summary = try await ImportPipeline(configuration: ImportConfiguration(
                archivePath: archive, target: EndpointConfiguration(url: target.writeURL), concurrency: 4,
                statePath: seeded.directory.path + "/vm.state"), logger: Logger(label: "e2e")).run()
            #expect(summary.complete)
            let (_, differences) = try await target.readBack(expected: VictoriaMetricsServer.storable(seeded.expected),
                                                             startMs: seeded.startMs, endMs: seeded.endMs)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        }
    }
}

@Suite(.serialized) struct ImportKillTests {
    /// SIGKILL prom-import at random moments and re-run it with its journal until it completes: the target
    /// must end with exactly the archive's samples (a Prometheus keeps one copy of a re-sent identical sample).
    @Test func killedAndResumedImportDeliversExactlyTheSource() async throws {
        let seeded = try SeededHistory(series: 150, hours: 6)
        defer { seeded.directory.remove() }
        let archive = seeded.directory.path + "/archive"
        try await exportedArchive(seeded, into: archive)
        try await PrometheusServer.with { target in
            let state = seeded.directory.path + "/import.state"
            // Small batches and short runs: enough round trips that the runs of 30-120 ms cannot finish the import
            // before its 20th kill, even on a quick machine (with 300-sample batches and 40-160 ms, one CI run
            // finished after 10).
            let arguments = ["--archive", archive, "--target-url", target.writeURL, "--state", state,
                             "--batch-samples", "100", "--concurrency", "2", "--quiet"]
            let (kills, status) = try await Executables.killRepeatedly("prom-import", arguments, rounds: 30, delayMs: 30..<120)
            #expect(status == nil || status == 0)
            let last = try await Executables.run("prom-import", arguments + ["--verify", "--target-read-url", target.readURL,
                                                                             "--log-level", "info", "--log-format", "json"])
            #expect(last.status == 0, "\(last.stdout)\n\(last.stderr)")
            let events = try JSONLogLines.parse(last.stderr)
            // Resumed, unless every kill fell before the first run had written its journal (a loaded machine).
            #expect(["import resumed", "import started"].contains(events.first?["message"] ?? "")
                    && events.contains { $0["message"] == "import complete" }, "\(events)")
            #expect(last.stdout.contains("verification    passed"), "\(last.stdout)")
            print("import kill/resume: \(kills) kills survived")
            #expect(kills >= 20)
            let stored = try await SeriesComparison.remoteContents(url: target.readURL, startMs: seeded.startMs, endMs: seeded.endMs,
                                                                   responseTypes: [.streamedXORChunks])
            let differences = SeriesComparison.differences(expected: seeded.expected, actual: stored)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
            #expect(SeriesComparison.sampleCount(stored) == SeriesComparison.sampleCount(seeded.expected))
        }
    }
}

@Suite(.serialized) struct StatelessImportTests {
    /// No state file at all: progress lives in the target (`--progress-metric`) and is read back on each start.
    @Test func killedStatelessImportResumesFromTheTarget() async throws {
        let seeded = try SeededHistory(series: 150, hours: 6)
        defer { seeded.directory.remove() }
        let archive = seeded.directory.path + "/archive"
        try await exportedArchive(seeded, into: archive, slabWidthMs: 15 * 60_000)
        try await PrometheusServer.with { target in
            let arguments = ["--archive", archive, "--target-url", target.writeURL, "--no-state",
                             "--progress-metric", "promferry_import_segments", "--target-read-url", target.readURL,
                             "--batch-samples", "300", "--concurrency", "2", "--quiet"]
            let (kills, status) = try await Executables.killRepeatedly("prom-import", arguments, rounds: 20, delayMs: 150..<450)
            #expect(status == nil || status == 0)
            print("stateless import kill/resume: \(kills) kills survived")
            #expect(kills >= 3)
            if status == nil {
                let finishing = try await Executables.run("prom-import", arguments)
                #expect(finishing.status == 0, "\(finishing.stderr)")
            }
            let last = try await Executables.importVerifyingPrometheus(arguments + ["--verify"])
            #expect(last.status == 0, "\(last.stdout)\n\(last.stderr)")
            #expect(last.stdout.contains("verification    passed"), "\(last.stdout)")
            // The last run skipped everything: the target said every segment was delivered.
            #expect(last.stdout.contains("sent            0 samples"), "\(last.stdout)")
            #expect(!FileManager.default.fileExists(atPath: archive + "/prom-import.state"))
            var stored = try await SeriesComparison.remoteContents(url: target.readURL, startMs: seeded.startMs, endMs: seeded.endMs,
                                                                   responseTypes: [.streamedXORChunks])
            stored = stored.filter { $0.key.metricName != "promferry_import_segments" }
            let differences = SeriesComparison.differences(expected: seeded.expected, actual: stored)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        }
    }
}
