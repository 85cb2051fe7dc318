import ArchiveFormat
import ArchiveStore
import Foundation
import PeerHarness
import PrometheusWire
import Testing

/// Archives on a real S3 store (SeaweedFS, SigV4 checked), read back with awscli as an independent
/// client: export with SIGKILLs, verify, download and `sha256sum -c`, import, and the errors of a
/// wrong key and a missing bucket.
@Suite(.serialized) struct ObjectStorageTests {
    /// A short lock lease, so that a run after a SIGKILL takes the dead writer's lock over in seconds.
    static func environment(_ store: SeaweedServer) -> [String: String] {
        store.environment.merging(["PROMFERRY_S3_LOCK_LEASE": "3"]) { $1 }
    }

    @Test func exportKilledAndResumedIntoABucketThenVerifiedDownloadedAndImported() async throws {
        let seeded = try SeededHistory(series: 150, hours: 6)
        defer { seeded.directory.remove() }
        try await SeaweedServer.with { store in
            try store.makeBucket("archives")
            let env = Self.environment(store)
            try await seeded.withServer { server in
                let arguments = { (archive: String) in
                    ["--source-url", server.readURL, "--archive", archive, "--start", "\(seeded.startMs)", "--end", "\(seeded.endMs)",
                     "--slab", "5m", "--max-slab", "5m", "--concurrency", "2", "--quiet"]
                }
                let reference = seeded.directory.path + "/reference"
                let clean = try await Executables.run("prom-export", arguments(reference))
                #expect(clean.status == 0, "\(clean.stderr)")

                let bucketArchive = "s3://archives/job/part-0"
                let (kills, status) = try await Executables.killRepeatedly("prom-export", arguments(bucketArchive), rounds: 5,
                                                                                   delayMs: 150..<900, environment: env)
                if status != 0 {
                    let last = try await Executables.run("prom-export", arguments(bucketArchive), environment: env)
                    #expect(last.status == 0, "\(last.stderr)")
                }
                print("bucket export: \(kills) kills survived")
                #expect(kills >= 1)

                // Exactly the manifest, the checksums and the segments it lists: no orphan parts, no lock left.
                let keys = try store.list("archives", prefix: "job/part-0/")
                let download = seeded.directory.path + "/download"
                try store.aws(["s3", "cp", "--recursive", "--quiet", "s3://archives/job/part-0", download])
                let manifest = try ArchiveDirectory(root: download).readManifest()
                #expect(manifest.complete)
                #expect(Set(keys.keys) == Set(["manifest.json", "SHA256SUMS"].map { "job/part-0/" + $0 } + manifest.segments.map { "job/part-0/" + $0.file }))
                _ = try Command.run("/bin/sh", ["-c", "cd '\(download)' && sha256sum --quiet -c SHA256SUMS"])
                let expected = try SeriesComparison.archiveContents(reference)
                #expect(SeriesComparison.differences(expected: expected, actual: try SeriesComparison.archiveContents(download)).isEmpty)
                #expect(manifest.slabs == (try ArchiveDirectory(root: reference).readManifest()).slabs)

                let verify = try await Executables.run("prom-archive", ["verify", "--archive", bucketArchive], environment: env)
                #expect(verify.status == 0, "\(verify.stdout)\n\(verify.stderr)")

                let inspect = try await Executables.run("prom-archive", ["inspect", "--archive", bucketArchive], environment: env)
                #expect(inspect.status == 0 && inspect.stdout.contains("\(manifest.totalSamples)"), "\(inspect.stdout)\n\(inspect.stderr)")

                // The other readers take the bucket too: cat, blocks (into a directory), and compact, which rewrites it in place.
                let cat = try await Executables.run("prom-archive", ["cat", "--archive", bucketArchive, "--format", "jsonl", "-q"], environment: env)
                #expect(cat.status == 0, "\(cat.stderr)")
                #expect(cat.stdout.split(separator: "\n").count > 0)
                let blocks = try await Executables.run("prom-archive", ["blocks", "-q", "--archive", bucketArchive, seeded.directory.path + "/blocks"],
                                                       environment: env)
                #expect(blocks.status == 0, "\(blocks.stderr)")
                #expect(try FileManager.default.contentsOfDirectory(atPath: seeded.directory.path + "/blocks").contains { $0.count == 26 })
                // Blocks straight into a bucket (staged locally, uploaded meta.json last), as Thanos and Mimir take them;
                // Prometheus' own tool reads the downloaded copy.
                let bucketBlocks = try await Executables.run("prom-archive", ["blocks", "-q", "--archive", bucketArchive, "s3://archives/blocks"],
                                                             environment: env)
                #expect(bucketBlocks.status == 0, "\(bucketBlocks.stderr)")
                try store.aws(["s3", "cp", "--recursive", "--quiet", "s3://archives/blocks", seeded.directory.path + "/bucket-blocks"])
                let listed = try Command.run(try PeerBinary.find("promtool"), ["tsdb", "list", seeded.directory.path + "/bucket-blocks"])
                let localBlocks = try FileManager.default.contentsOfDirectory(atPath: seeded.directory.path + "/blocks").filter { $0.count == 26 }
                #expect(!localBlocks.isEmpty && localBlocks.allSatisfy { listed.contains($0) }, "\(listed)")
                // Split into parts under a bucket prefix; each part is an archive of its own.
                let split = try await Executables.run("prom-archive", ["split", "-q", "--archive", bucketArchive, "--max-bytes", "200KB",
                                                                       "s3://archives/split"], environment: env)
                #expect(split.status == 0, "\(split.stderr)")
                let parts = Set(try store.list("archives", prefix: "split/").keys.compactMap { $0.split(separator: "/").dropFirst().first.map(String.init) })
                #expect(parts.count >= 2, "\(parts)")
                for part in parts {
                    let verified = try await Executables.run("prom-archive", ["verify", "--archive", "s3://archives/split/" + part], environment: env)
                    #expect(verified.status == 0, "\(part): \(verified.stdout)")
                }
                let compact = try await Executables.run("prom-archive", ["compact", "-q", "--archive", bucketArchive], environment: env)
                #expect(compact.status == 0, "\(compact.stdout)\n\(compact.stderr)")
                let compacted = seeded.directory.path + "/compacted"
                try store.aws(["s3", "cp", "--recursive", "--quiet", "s3://archives/job/part-0", compacted])
                #expect(SeriesComparison.differences(expected: expected, actual: try SeriesComparison.archiveContents(compacted)).isEmpty)
                _ = try Command.run("/bin/sh", ["-c", "cd '\(compacted)' && sha256sum --quiet -c SHA256SUMS"])
                let compactedManifest = try ArchiveDirectory(root: compacted).readManifest()
                #expect(Set(try store.list("archives", prefix: "job/part-0/").keys)
                        == Set(["manifest.json", "SHA256SUMS"].map { "job/part-0/" + $0 } + compactedManifest.segments.map { "job/part-0/" + $0.file }))

                // Import from the bucket; its journal goes to the working directory, named for the bucket and prefix.
                try await VictoriaMetricsServer.with { vm in
                    let state = seeded.directory.path + "/import.state"
                    let imported = try await Executables.run("prom-import", [
                        "--archive", bucketArchive, "--target-url", vm.writeURL, "--state", state,
                        "--verify", "--target-read-url", vm.baseURL + "/api/v1/export"], environment: env)
                    #expect(imported.status == 0, "\(imported.stdout)\n\(imported.stderr)")
                    #expect(imported.stdout.contains("verification    passed"), "\(imported.stdout)")
                }
            }
        }
    }

    /// `prom-import --follow` on a bucket archive that an export is still writing: it waits for the
    /// first manifest, imports each slab as it is committed, and ends with the export.
    @Test func importFollowsAnExportIntoTheBucket() async throws {
        let seeded = try SeededHistory(series: 60, hours: 4)
        defer { seeded.directory.remove() }
        try await SeaweedServer.with { store in
            try store.makeBucket("archives")
            let env = Self.environment(store)
            try await seeded.withServer { server in
                let archive = "s3://archives/followed"
                let export = try Executables.start("prom-export", ["--source-url", server.readURL, "--archive", archive,
                                                                   "--start", "\(seeded.startMs)", "--end", "\(seeded.endMs)",
                                                                   "--slab", "5m", "--max-slab", "5m", "--concurrency", "1", "--quiet"],
                                                   environment: env)
                try await VictoriaMetricsServer.with { vm in
                    // No --state: the journal goes to the working directory, named for the bucket and prefix, and the import says so.
                    let imported = try await Executables.run("prom-import", [
                        "--archive", archive, "--follow", "--target-url", vm.writeURL,
                        "--verify", "--target-read-url", vm.baseURL + "/api/v1/export"], environment: env, directory: seeded.directory.path)
                    export.waitUntilExit()
                    #expect(export.terminationStatus == 0)
                    #expect(imported.status == 0, "\(imported.stdout)\n\(imported.stderr)")
                    #expect(imported.stdout.contains("verification    passed"), "\(imported.stdout)")
                    let journal = seeded.directory.path + "/archives_followed.prom-import.state"
                    #expect(imported.stderr.contains("keeping the import's progress in archives_followed.prom-import.state"), "\(imported.stderr)")
                    let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n")
                    #expect(lines.first?.contains(#""version":2"#) == true && lines.last == #"{"complete":true}"#, "\(lines.suffix(2))")
                }
            }
        }
    }

    @Test func aWrongKeyAndAMissingBucketAreNamedAndLeaveNothing() async throws {
        try await SeaweedServer.with { store in
            try store.makeBucket("archives")
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            var wrong = Self.environment(store)
            wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
            let refused = try await Executables.run("prom-archive", ["inspect", "--archive", "s3://archives/x"], environment: wrong)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("SignatureDoesNotMatch") && refused.stderr.contains("AWS_SECRET_ACCESS_KEY"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("not-the-secret"), "a secret was printed: \(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")

            let missing = try await Executables.run("prom-archive", ["verify", "--archive", "s3://no-such-bucket/x"],
                                                    environment: Self.environment(store))
            #expect(missing.status == 3)
            #expect(missing.stdout.contains("bucket no-such-bucket does not exist") && missing.stdout.contains("aws s3 mb s3://no-such-bucket"),
                    "\(missing.stdout)")

            let badName = try await Executables.run("prom-archive", ["verify", "--archive", "s3://Bad_Bucket/x"])
            #expect(badName.status == 64, "\(badName.stderr)")
            #expect(badName.stderr.contains("is not a bucket name"), "\(badName.stderr)")
            #expect(try store.list("archives", prefix: "").isEmpty)
        }
    }
}
