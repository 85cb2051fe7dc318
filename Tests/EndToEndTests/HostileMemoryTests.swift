import ArchiveFormat
import ArchiveStore
import BlockCompression
import Foundation
import PeerHarness
import PrometheusWire
import Synchronization
import Testing
import TestSupport

/// A small archive of many series with huge, distinct label values: the offline tools once kept every
/// label set of a segment (verify, import) or of the archive (inspect) for their "seen before?"
/// checks, so a megabyte on disk took them to hundreds of megabytes. They now keep a 16-byte fingerprint per series,
/// and their memory stays within one block. Each runs under a 128 MiB data limit (prlimit).
@Suite struct HostileMemoryTests {
    static let seriesCount = 1000
    static let valueBytes = 256 << 10

    /// One slab, two segments, 1000 series of one sample whose `blob` labels are 256 KiB each and all
    /// different: 250 MiB of label bytes, which zstd shrinks to about a megabyte.
    static func writeArchive(at path: String) throws {
        let archive = ArchiveDirectory(root: path)
        try archive.prepareForWriting()
        var manifest = Manifest(tool: .init(name: "test", version: "0"), createdAt: "2024-01-01T00:00:00Z",
                                source: .init(url: "http://source/api/v1/read", externalLabels: [:], droppedLabels: []),
                                selection: .init(selectors: ["{__name__=~\".+\"}"], startMs: 0, endMs: 60_000, startArgument: "0",
                                                 endArgument: "60000"),
                                slabPlan: .init(slabDurationMs: 60_000, segmentTargetBytes: 1 << 30))
        var segments: [Manifest.SegmentEntry] = []
        let filler = [UInt8](repeating: UInt8(ascii: "x"), count: valueBytes - 8)
        for part in 0..<2 {
            let encoder = try SegmentEncoder(compressionLevel: 1)
            let file = try archive.createSegment(ArchiveNaming.segmentPath(slab: 0, part: part))
            try file.write(encoder.start())
            for index in stride(from: part, to: seriesCount, by: 2) {
                let labels = Labels(sorting: [Label("__name__", "hostile"),
                                              Label(name: Array("blob".utf8), value: filler + Array(String(format: "%08d", index).utf8))])
                try file.write(try encoder.append(labels: labels, samples: [Sample(timestampMs: 1000, value: 1)][...]))
            }
            try file.write(try encoder.finish())
            segments.append(.init(file: file.relativePath, bytes: file.bytesWritten, sha256: try file.commit(), summary: encoder.summary))
        }
        manifest.slabs = [.init(index: 0, startMs: 0, endMs: 60_000, series: seriesCount, samples: seriesCount, segments: segments)]
        manifest.complete = true
        try archive.commit(manifest)
    }

    @Test func offlineToolsStayWithinOneBlockOfMemory() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let archive = dir.path + "/hostile"
        try Self.writeArchive(at: archive)
        let onDisk = try ArchiveDirectory(root: archive).readManifest().totalBytes
        #expect(onDisk < 16 << 20, "the hostile archive takes \(onDisk) bytes")
        let archiveTool = try Executables.path("prom-archive"), importTool = try Executables.path("prom-import")
        for arguments in [[archiveTool, "verify", archive], [archiveTool, "inspect", archive, "--json"],
                          [importTool, "--archive", archive, "--dry-run", "--quiet", "--state", dir.path + "/state"]] {
            let outcome = try await Executables.run("/usr/bin/prlimit", ["--data=\(128 << 20)"] + arguments)
            #expect(outcome.status == 0, "\(arguments.prefix(2)) under a 128 MiB data limit: exit \(outcome.status): \(outcome.stderr.suffix(500))")
        }
        // cat writes all 250 MiB of labels; it streams them, so its output goes to /dev/null, not into this test.
        for format in ["openmetrics", "jsonl"] {
            let outcome = try await Executables.run("/bin/sh", ["-c", "exec /usr/bin/prlimit --data=\(128 << 20) \"$0\" cat \"$1\" --format \(format) >/dev/null",
                                                                archiveTool, archive])
            #expect(outcome.status == 0, "cat --format \(format) under a 128 MiB data limit: exit \(outcome.status): \(outcome.stderr.suffix(500))")
        }
    }

    /// A real import sends every one of those series, within `--max-memory` plus 10%.
    @Test func importStaysWithinItsMemoryTarget() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let archive = dir.path + "/hostile"
        try Self.writeArchive(at: archive)
        let delivered = Mutex(0)
        let server = try await ScriptedHTTPServer { request, _ in
            guard let body = try? Snappy.decompress(request.body, maxOutputBytes: 64 << 20), let write = try? WriteRequest.decode(body) else {
                return .respond(status: 400, headers: [], body: Array("undecodable".utf8))
            }
            delivered.withLock { $0 += write.timeseries.reduce(0) { $0 + $1.samples.count } }
            return .respond(status: 204, headers: [], body: [])
        }
        let budget = 128 << 20
        let outcome = try await Executables.run("/usr/bin/prlimit", [
            "--data=\(budget + budget / 10)", try Executables.path("prom-import"), "--archive", archive, "--quiet",
            "--target-url", server.baseURL + "/api/v1/write", "--max-memory", "128MiB", "--state", dir.path + "/state"])
        try await server.shutdown()
        #expect(outcome.status == 0, "import under a \(budget + budget / 10) byte data limit: exit \(outcome.status): \(outcome.stderr.suffix(500))")
        #expect(delivered.withLock { $0 } == Self.seriesCount)
    }
}
