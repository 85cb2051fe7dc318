import ArchiveStore
import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport
import ArchiveFormat

/// The exit statuses the tools share: 3 when a check finds a difference (`prom-archive verify` as
/// `prom-import --verify`), 64 for a bad command line, a selector whose regular expression does not
/// compile included, in every tool.
@Suite struct ExitStatusTests {
    @Test func verifyExitsThreeWhenItFindsAProblem() async throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let archive = dir.path + "/archive"
        let series = Series(labels: Labels(sorting: [Label("__name__", "up")]),
                            samples: (0..<100).map { Sample(timestampMs: 1_700_000_000_000 + Int64($0) * 15_000, value: 1) })
        try TestArchive.write([series], at: archive, startMs: 1_700_000_000_000 / 3_600_000 * 3_600_000, slabMs: 3_600_000, slabs: 2)
        let sound = try await Executables.run("prom-archive", ["verify", archive])
        #expect(sound.status == 0, "\(sound.stdout)")
        let segment = try ArchiveDirectory(root: archive).readManifest().segments.first { $0.samples > 0 }!
        let path = archive + "/" + segment.file
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
        let damaged = try await Executables.run("prom-archive", ["verify", archive])
        #expect(damaged.status == 3, "\(damaged.stdout)")
        #expect(damaged.stdout.contains("NOT SOUND"))
        let help = try await Executables.run("prom-archive", ["verify", "--help"])
        #expect(help.stdout.contains("Exit status: 0 the archive is sound; 3 a problem was found"), "\(help.stdout)")
    }

    @Test(arguments: ["prom-export", "prom-import", "prom-archive"])
    func aRegularExpressionThatDoesNotCompileIsAUsageError(_ tool: String) async throws {
        let arguments: [String] = switch tool {
        case "prom-export": ["--source-url", "http://127.0.0.1:9/api/v1/read", "-o", "/nonexistent/a", "--start", "-1h", "--end", "-30m"]
        case "prom-import": ["-a", "/nonexistent/a", "--target-url", "http://127.0.0.1:9/api/v1/write"]
        default: ["cat", "/nonexistent/a"]
        }
        let outcome = try await Executables.run(tool, arguments + ["--match", #"{job=~"(unclosed"}"#])
        #expect(outcome.status == 64, "\(tool): \(outcome.stderr)")
        #expect(outcome.stderr.contains("invalid regular expression"), "\(tool): \(outcome.stderr)")
    }
}
