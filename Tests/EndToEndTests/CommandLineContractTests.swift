import ArchiveStore
import Foundation
import PeerHarness
import PrometheusWire
import Testing
import TestSupport
import ArchiveFormat

/// One command line: `--archive` names the archive in every command (former spellings are hidden
/// aliases for one release), and `--json`, `--summary-json FILE` and `--quiet` mean the same everywhere.
@Suite struct CommandLineContractTests {
    static let hour: Int64 = 3_600_000
    static let start: Int64 = 1_700_000_000_000 / hour * hour

    static func withArchive(_ body: (String, String) async throws -> Void) async throws {
        let dir = try TemporaryDirectory(prefix: "promferry-cli")
        defer { dir.remove() }
        let series = (0..<6).map { i in
            Series(labels: Labels(sorting: [Label("__name__", "cli_metric"), Label("i", "\(i)")]),
                   samples: stride(from: start, to: start + 2 * hour, by: 60_000).map { Sample(timestampMs: $0, value: Double(i)) })
        }
        try TestArchive.write(series, at: dir.path + "/archive", startMs: start, slabMs: hour, slabs: 2)
        try await body(dir.path + "/archive", dir.path)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func theArchiveIsSpelledArchiveEverywhereAndTheFormerSpellingsStillWork() async throws {
        try await Self.withArchive { archive, dir in
            for arguments in [["verify", "--archive", archive], ["verify", "-a", archive], ["verify", archive]] {
                let outcome = try await Executables.run("prom-archive", arguments)
                #expect(outcome.status == 0 && outcome.stdout.contains("sound: \(archive)"), "\(arguments): \(outcome.stderr)")
            }
            let both = try await Executables.run("prom-archive", ["inspect", "--archive", archive, archive])
            #expect(both.status == 64 && both.stderr.contains("give it once, as --archive"), "\(both.stderr)")
            let neither = try await Executables.run("prom-archive", ["cat"])
            #expect(neither.status == 64 && neither.stderr.contains("give the archive directory with --archive DIR"), "\(neither.stderr)")

            let split = try await Executables.run("prom-archive", ["split", "--archive", archive, "--max-bytes", "1GiB", dir + "/parts"])
            #expect(split.status == 0, "\(split.stderr)")
            let splitAlias = try await Executables.run("prom-archive", ["split", archive, "--max-bytes", "1GiB", dir + "/parts-alias"])
            #expect(splitAlias.status == 0 && splitAlias.stdout == split.stdout.replacingOccurrences(of: "/parts/", with: "/parts-alias/"),
                    "\(splitAlias.stderr)")
            let splitBad = try await Executables.run("prom-archive", ["split", "--archive", archive, "--max-bytes", "1GiB", "a", "b"])
            #expect(splitBad.status == 64, "\(splitBad.stderr)")

            // A part holds its slabs plus 64 KiB for its manifest: room for one slab each.
            let largest = try ArchiveDirectory(root: archive).readManifest().slabs.map { $0.segments.reduce(0) { $0 + $1.bytes } }.max()!
            let half = try await Executables.run("prom-archive", ["split", "--archive", archive, "--max-bytes", "\(largest + (64 << 10))B",
                                                                  dir + "/halves"])
            let parts = half.stdout.split(separator: "\n").map(String.init)
            #expect(parts.count == 2, "\(half.stdout) \(half.stderr)")
            let merge = try await Executables.run("prom-archive", ["merge", "--archive", parts[0], "--archive", parts[1], dir + "/merged"])
            #expect(merge.status == 0, "\(merge.stderr)")
            let mergeAlias = try await Executables.run("prom-archive", ["merge", parts[0], parts[1], dir + "/merged-alias"])
            #expect(mergeAlias.status == 0, "\(mergeAlias.stderr)")
            let mergeOne = try await Executables.run("prom-archive", ["merge", "--archive", parts[0], dir + "/merged-one"])
            #expect(mergeOne.status == 64 && mergeOne.stderr.contains("two or more archives"), "\(mergeOne.stderr)")

            // prom-export: --archive/-a, and the former --output/-o; both at once is a usage error before any request.
            let exportBoth = try await Executables.run("prom-export", ["--source-url", "http://127.0.0.1:9/api/v1/read", "--start", "-1h",
                                                                       "--archive", dir + "/x", "-o", dir + "/y"])
            #expect(exportBoth.status == 64 && exportBoth.stderr.contains("--archive \(dir)/x and --output \(dir)/y both name the archive"),
                    "\(exportBoth.stderr)")
            let help = try await Executables.run("prom-export", ["--help"])
            #expect(help.stdout.contains("-a, --archive <archive>") && !help.stdout.contains("--output"))
        }
    }

    @Test func jsonAndSummaryJSONMeanTheSameInEveryCommand() async throws {
        try await Self.withArchive { archive, dir in
            for command in ["verify", "inspect", "compact"] {
                let file = dir + "/\(command).json"
                let outcome = try await Executables.run("prom-archive", [command, "--archive", archive, "--json", "--summary-json", file])
                #expect(outcome.status == 0, "\(command): \(outcome.stderr)")
                // stdout is the JSON and nothing else, and the file holds the same.
                let printed = try Self.json(outcome.stdout)
                let written = try Self.json(String(contentsOfFile: file, encoding: .utf8))
                #expect(NSDictionary(dictionary: printed) == NSDictionary(dictionary: written))
                #expect(printed["archive"] as? String == archive || printed["samples"] != nil, "\(command): \(printed.keys)")
            }
            // Text on stdout, JSON in the file.
            let file = dir + "/verify-text.json"
            let text = try await Executables.run("prom-archive", ["verify", "--archive", archive, "--summary-json", file])
            let written = try Self.json(String(contentsOfFile: file, encoding: .utf8))
            #expect(text.stdout.hasPrefix("sound: ") && (written["errors"] as? [Any])?.isEmpty == true, "\(written)")
            // cat: stdout carries the samples, so only --summary-json, with the counts.
            let counts = dir + "/cat.json"
            let cat = try await Executables.run("prom-archive", ["cat", "--archive", archive, "--summary-json", counts])
            #expect(cat.status == 0 && cat.stdout.contains("cli_metric{i=\"0\"}"))
            let catCounts = try Self.json(String(contentsOfFile: counts, encoding: .utf8))
            #expect(catCounts["samples"] as? Int == 6 * 120)
            // A summary file whose directory is missing is refused before any work.
            let missing = try await Executables.run("prom-archive", ["verify", "--archive", archive, "--summary-json", dir + "/no/such/dir/x.json"])
            #expect(missing.status == 64 && missing.stderr.contains("does not exist"), "\(missing.stderr)")
        }
    }

    /// prom-archive takes --log-level and --log-format like the other tools, and its libraries log what they did.
    @Test func theOfflineToolsLogWhatTheyDid() async throws {
        try await Self.withArchive { archive, _ in
            let verify = try await Executables.run("prom-archive", ["verify", "--archive", archive, "--log-level", "debug", "--log-format", "json"])
            let checked = try JSONLogLines.parse(verify.stderr)
            #expect(checked.filter { $0["message"] == "segment checked" }.count == 4, "\(verify.stderr)")
            #expect(checked.last?["message"] == "archive verified" && checked.last?["sound"] == "true")
            let compact = try await Executables.run("prom-archive", ["compact", "--archive", archive, "--log-level", "info", "--log-format", "json"])
            let events = try JSONLogLines.parse(compact.stderr)
            #expect(events.map { $0["message"] ?? "" } == ["slabs joined", "compaction committed"], "\(compact.stderr)")
            #expect(events.first?["samples"] == "\(6 * 120)" && events.last?["slabs.after"] == "1")
            let cat = try await Executables.run("prom-archive", ["cat", "--archive", archive, "--log-level", "info", "--log-format", "json"])
            #expect(try JSONLogLines.parse(cat.stderr).contains { $0["message"] == "cat finished" && $0["records"] == "6" }, "\(cat.stderr)")
        }
    }

    /// An error's message is one line; at --log-level debug the errors it was made from follow, by type.
    @Test func errorCausesAreLoggedAtDebug() async throws {
        let dir = try TemporaryDirectory(prefix: "promferry-cause")
        defer { dir.remove() }
        let port = try FreePort.allocate()
        let outcome = try await Executables.run("prom-export", ["--source-url", "http://127.0.0.1:\(port)/api/v1/read", "-a", dir.path + "/a",
                                                                "--start", "-1h", "--quiet", "--log-level", "debug", "--log-format", "json"])
        #expect(outcome.status == 1 && outcome.stderr.contains("prom-export: error: ") && outcome.stderr.contains("connection refused"))
        let causes = try JSONLogLines.parse(outcome.stderr).first { $0["message"] == "error causes" }
        #expect(causes?["causes"]?.contains("IOError") == true || causes?["causes"]?.contains("NIOConnectionError") == true,
                "\(outcome.stderr)")
    }

    @Test func quietLeavesOnlyErrorsAndTheSummary() async throws {
        try await Self.withArchive { archive, _ in
            try Data("stray".utf8).write(to: URL(fileURLWithPath: archive + "/notes.txt"))
            let loud = try await Executables.run("prom-archive", ["verify", "--archive", archive])
            let quiet = try await Executables.run("prom-archive", ["verify", "--archive", archive, "--quiet"])
            #expect(loud.stdout.contains("warning  ") && loud.stdout.contains("notes.txt"), "\(loud.stdout)")
            #expect(!quiet.stdout.contains("warning  ") && quiet.stdout.hasPrefix("sound: ") && quiet.stdout.contains("1 warnings"), "\(quiet.stdout)")
            let compact = try await Executables.run("prom-archive", ["compact", "--archive", archive, "-q"])
            #expect(compact.status == 0 && compact.stdout.hasPrefix("compacted ") && !compact.stdout.contains("slabs 0–1"), "\(compact.stdout)")
        }
    }
}
