import ArchiveStore
import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport
import ArchiveFormat

/// An export into a small filesystem that fills up mid-run: one clear error naming the directory,
/// the archive stays valid, and once space is freed the same command completes it.
///
/// The filesystem is a tmpfs mounted in a private mount namespace (`unshare`), so nothing is mounted
/// on the host and it disappears with the namespace, whatever happens.
@Suite struct DiskFullTests {
    @Test func aFullDiskStopsCleanlyAndTheRerunCompletes() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        // Random bit patterns do not compress: about 8 bytes per sample, far more than the 192 KiB tmpfs.
        // One read at a time, so that some slabs commit before the disk fills (with several in flight,
        // all of them can fill it first, and a first run that commits nothing leaves no archive).
        var rng = SplitMix(seed: 11)
        let series = (0..<40).map { i in
            Series(labels: Labels(sorting: [Label("__name__", "noise"), Label("i", "\(i)")]),
                   samples: (0..<3000).map { Sample(timestampMs: 1_700_000_000_000 + Int64($0) * 1200, valueBits: rng.next() >> 2) })
        }
        let source = FakeRemoteReadSource(series: series)
        let server = try await ScriptedHTTPServer { request, _ in
            request.method == "POST" ? source.answer(request.body) : .respond(status: 404, headers: [], body: [])
        }
        let exporter = try Executables.path("prom-export")
        let mount = dir.path + "/small"
        let out = dir.path + "/out"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let export = "'\(exporter)' --source-url \(server.baseURL)/api/v1/read -o '\(mount)/archive' --start 1700000000000 "
            + "--end 1700003600000 --slab 5m --segment-size 64KiB --concurrency 1 --quiet"
        let script = """
            set -u
            mount -t tmpfs -o size=192k promferry-test '\(mount)' || exit 90
            \(export) > '\(out)/first.out' 2> '\(out)/first.err'; echo $? > '\(out)/first.status'
            cp -r '\(mount)/archive' '\(out)/after-failure'
            mount -o remount,size=16m '\(mount)' || exit 91
            \(export) > '\(out)/second.out' 2> '\(out)/second.err'; echo $? > '\(out)/second.status'
            cp -r '\(mount)/archive' '\(out)/final'
            """
        let asRoot = getuid() == 0
        let unshare = try PeerBinary.find("unshare")
        try Command.run(unshare, (asRoot ? ["--mount"] : ["--user", "--map-root-user", "--mount"]) + ["/bin/bash", "-c", script])
        try await server.shutdown()

        let read = { (name: String) in (try? String(contentsOfFile: out + "/" + name, encoding: .utf8)) ?? "" }
        #expect(read("first.status").trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        let error = read("first.err")
        #expect(error.split(separator: "\n").count == 1, "\(error)")
        #expect(error.contains("No space left on device"), "\(error)")
        #expect(error.contains("\(mount)/archive is full"), "\(error)")
        #expect(error.contains("re-run the same command"), "\(error)")

        // What the failed run left is a valid archive of the slabs it completed.
        let partial = ArchiveDirectory(root: out + "/after-failure")
        let partialManifest = try partial.readManifest()
        #expect(!partialManifest.complete)
        #expect(partialManifest.slabs.count > 0)
        for segment in partialManifest.segments { try partial.readSegment(segment) }

        #expect(read("second.status").trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(read("second.err"))")
        var expected: SeriesMap = [:]
        for s in series { expected[s.labels] = s.samples }
        #expect(try SeriesComparison.archiveContents(out + "/final") == expected)
        _ = try Command.run("/bin/sh", ["-c", "cd '\(out)/final' && sha256sum --quiet -c SHA256SUMS"])
    }
}
