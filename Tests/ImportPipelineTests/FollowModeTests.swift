import ArchiveStore
import ExportPipeline
import Foundation
@testable import ImportPipeline
import Logging
import PeerHarness
import PrometheusWire
import RemoteStorageClient
import Synchronization
import Testing
import TestSupport
import ArchiveFormat

/// `prom-import --follow` replaying an archive while `prom-export` writes it.
@Suite struct FollowModeTests {
    /// The import starts before the export has written anything, sends slabs as they are committed
    /// (the first request lands long before the export ends), and ends when the export completes;
    /// every sample reaches the target exactly once.
    @Test func deliversEverySampleOnceWhileTheExportIsStillWriting() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let archive = dir.path + "/archive"
        // Twelve 15-minute slabs, each read taking 150 ms: the export runs for about two seconds.
        let source = FakeRemoteReadSource(series: dataset)
        let reader = try await ScriptedHTTPServer { request, _ in
            request.method == "POST" ? .delay(milliseconds: 150, then: source.answer(request.body))
                : .respond(status: 404, headers: [], body: [])
        }
        let target = FakeRemoteWriteTarget()
        let firstWrite = Mutex<ContinuousClock.Instant?>(nil)
        let writer = try await ScriptedHTTPServer { request, _ in
            firstWrite.withLock { if $0 == nil { $0 = .now } }
            return target.handle(request)
        }
        let export = ExportConfiguration(
            source: EndpointConfiguration(url: reader.baseURL + "/api/v1/read"), selectors: [.everySeries],
            startMs: t0, endMs: t0 + 3 * hour, startArgument: "\(t0)", endArgument: "\(t0 + 3 * hour)",
            slabWidthMs: hour / 4, compressionLevel: 3, archivePath: archive)
        var follow = ImportConfiguration(archivePath: archive, target: EndpointConfiguration(url: writer.baseURL + "/api/v1/write"),
                                         batchSamples: 500, concurrency: 3)
        follow.follow = true
        follow.followPollSeconds = 0.05

        do {
            let importing = Task { try await ImportPipeline(configuration: follow, logger: Logger(label: "follow")).run() }
            try await Task.sleep(for: .milliseconds(300))  // the import is waiting for a manifest
            let exported = try await ExportPipeline(configuration: export, logger: Logger(label: "export")).run()
            let exportEnded = ContinuousClock.now
            let imported = try await importing.value

            #expect(exported.complete && imported.complete)
            #expect(imported.segments == exported.archiveSlabs)
            #expect(imported.samplesSent == dataset.reduce(0) { $0 + $1.samples.count })
            #expect(target.contents == map(dataset))
            #expect(target.maxDeliveries == 1)
            let first = try #require(firstWrite.withLock { $0 })
            #expect(exportEnded - first > .milliseconds(800), "the import only started sending after the export ended")
        } catch {
            try await reader.shutdown()
            try await writer.shutdown()
            throw error
        }
        try await reader.shutdown()
        try await writer.shutdown()
    }

    /// Without --follow, an incomplete archive is imported as far as it goes (the summary says it is
    /// not complete); with it, a missing manifest is waited for rather than an error.
    @Test func withoutFollowAMissingManifestIsAnError() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let configuration = ImportConfiguration(archivePath: dir.path + "/nothing-yet",
                                                target: EndpointConfiguration(url: "http://127.0.0.1:9/api/v1/write"))
        await #expect(throws: ArchiveStoreError.self) {
            try await ImportPipeline(configuration: configuration, logger: Logger(label: "t")).run()
        }
    }

    func following(_ archive: String, timeout: Double) -> ImportConfiguration {
        var configuration = ImportConfiguration(archivePath: archive, target: EndpointConfiguration(url: "http://127.0.0.1:9/api/v1/write"))
        configuration.follow = true
        configuration.followPollSeconds = 0.05
        configuration.followTimeoutSeconds = timeout
        return configuration
    }

    /// A mistyped path (no manifest ever comes) and a killed export (an incomplete manifest that no
    /// longer grows, no lock held) once made --follow wait forever; both now stop after the timeout.
    @Test func stopsWhenNoExportHoldsTheArchive() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let began = ContinuousClock.now
        let typo = await #expect(throws: ImportError.self) {
            try await ImportPipeline(configuration: following(dir.path + "/arhcive", timeout: 1), logger: Logger(label: "t")).run()
        }
        #expect(typo?.code == .followTimedOut)
        #expect(typo?.message.contains("/arhcive: no export has written to it for 1s and none holds it now") == true, "\(String(describing: typo))")
        // It stops at all (it used to wait forever). The bound is loose: the whole suite runs at once on two
        // cores, and this task can wait a minute for a thread between its polls.
        #expect(ContinuousClock.now - began < .seconds(300))

        // An export killed after two of six slabs: its manifest stays incomplete and its lock is free.
        let source = FakeRemoteReadSource(series: dataset)
        let reader = try await ScriptedHTTPServer { request, index in
            request.method != "POST" ? .respond(status: 404, headers: [], body: [])
                : index < 3 ? source.answer(request.body) : .respond(status: 400, headers: [], body: Array("stop here".utf8))
        }
        let archive = dir.path + "/killed"
        let export = ExportConfiguration(
            source: EndpointConfiguration(url: reader.baseURL + "/api/v1/read"), selectors: [.everySeries],
            startMs: t0, endMs: t0 + 3 * hour, startArgument: "\(t0)", endArgument: "\(t0 + 3 * hour)",
            slabWidthMs: hour / 2, compressionLevel: 3, archivePath: archive)
        _ = try? await ExportPipeline(configuration: export, logger: Logger(label: "export")).run()
        try await reader.shutdown()
        let manifest = try ArchiveDirectory(root: archive).readManifest()
        #expect(!manifest.complete && manifest.slabs.count == 2)
        #expect(ArchiveDirectory(root: archive).writerHoldsLock() == false)
        let target = FakeRemoteWriteTarget()
        let writer = try await ScriptedHTTPServer { request, _ in target.handle(request) }
        var configuration = following(archive, timeout: 1)
        configuration.target = EndpointConfiguration(url: writer.baseURL + "/api/v1/write")
        let killed = await #expect(throws: ImportError.self) {
            try await ImportPipeline(configuration: configuration, logger: Logger(label: "t")).run()
        }
        try await writer.shutdown()
        #expect(killed?.code == .followTimedOut)
        // What the export committed was delivered before the import gave up.
        #expect(target.contents.values.reduce(0) { $0 + $1.count } == manifest.totalSamples)
    }

    /// While a writer holds the lock, the import waits however long the export takes between slabs.
    @Test func waitsWhileAWriterHoldsTheLock() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let archive = ArchiveDirectory(root: dir.path + "/held")
        try archive.prepareForWriting()
        #expect(archive.writerHoldsLock() == true)
        let importing = Task {
            try await ImportPipeline(configuration: following(dir.path + "/held", timeout: 0.3), logger: Logger(label: "t")).run()
        }
        try await Task.sleep(for: .milliseconds(1500))
        importing.cancel()
        let error = await #expect(throws: (any Error).self) { try await importing.value }
        #expect(!(error is ImportError), "the import gave up while the lock was held: \(String(describing: error))")
    }
}
