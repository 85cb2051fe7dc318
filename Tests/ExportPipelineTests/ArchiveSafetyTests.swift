import ArchiveStore
import ArchiveTools
@testable import ExportPipeline
import Foundation
import Logging
import PeerHarness
import Testing
import TestSupport
import ArchiveFormat

/// Two exports started at the same instant on the same new directory: one takes the lock, the other
/// stops with "in use" and touches nothing, so the winner's archive ends complete. (Before the lock
/// came first, the loser's clean-up of "a new empty archive" removed the winner's directory in 7 of
/// 8 runs.)
@Suite struct ConcurrentStartTests {
    @Test func theLoserOfTheLockTouchesNothing() async throws {
        let data = FakeRemoteReadSource(series: dataset)
        try await withSource({ r, _ in .delay(milliseconds: 5, then: data.answer(r.body)) }) { source, dir in
            for attempt in 0..<8 {
                let archive = dir + "/race-\(attempt)"
                async let first = Result(catching: { try await source.export { configuration(url: $0, archive: archive) } })
                async let second = Result(catching: { try await source.export { configuration(url: $0, archive: archive) } })
                let results = await [first, second]
                let winners = results.filter { if case .success = $0 { true } else { false } }
                #expect(!winners.isEmpty, "attempt \(attempt): neither export finished: \(results)")
                for case .failure(let error) in results {
                    #expect((error as? ArchiveStoreError)?.code == .locked, "attempt \(attempt): \(error)")
                }
                let manifest = try ArchiveDirectory(root: archive).readManifest()
                let contents = try SeriesComparison.archiveContents(archive)
                #expect(manifest.complete, "attempt \(attempt)")
                #expect(contents == expectedMap(), "attempt \(attempt)")
            }
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// A range reaching past the present is refused before anything is read or written: its slabs would
/// be committed as complete without the samples that do not exist yet, and a re-run would skip them.
@Suite struct FutureRangeTests {
    @Test func anEndAfterNowIsRefusedAndNothingIsWritten() async throws {
        let data = FakeRemoteReadSource(series: dataset)
        try await withSource({ r, _ in data.answer(r.body) }) { source, dir in
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            var future = configuration(url: source.url, archive: dir + "/a")
            future.endMs = nowMs + 2 * hour + 61_000
            future.endArgument = "now+2h1m1s"
            do {
                _ = try await ExportPipeline(configuration: future, logger: Logger(label: "test")).run()
                Issue.record("an export into the future finished")
            } catch let error as ExportError {
                #expect(error.code == .rangeInFuture)
                #expect(error.message.contains("--end now+2h1m1s"))
                #expect(error.message.contains("2h1m from now") || error.message.contains("2h2m from now"))
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/a"))
            #expect(source.reads.isEmpty)
            // The same range ending now is exported whole.
            var past = configuration(url: source.url, archive: dir + "/a")
            past.endMs = nowMs
            try past.checkRangeIsPast(nowMs: nowMs)
        }
    }
}

/// Resume checks that every committed segment is still there with its size: a lost or cut file is
/// named and refused, and `--repair` reads its slab and every later one again.
@Suite struct DamagedArchiveTests {
    static let data = FakeRemoteReadSource(series: dataset)

    func damage(_ body: (String) throws -> Void, expecting problem: String) async throws {
        try await withSource({ r, _ in Self.data.answer(r.body) }) { source, dir in
            let archive = dir + "/a"
            _ = try await source.export { configuration(url: $0, archive: archive) }
            #expect(source.reads.count == 6)
            let third = try ArchiveDirectory(root: archive).readManifest().slabs[2].segments[0].file
            try body(archive + "/" + third)
            let before = try String(contentsOfFile: archive + "/manifest.json", encoding: .utf8)
            do {
                _ = try await source.export { configuration(url: $0, archive: archive) }
                Issue.record("a resume over a damaged archive reported success")
            } catch let error as ExportError {
                #expect(error.code == .damagedArchive)
                #expect(error.message.contains(third) && error.message.contains(problem), "\(error.message)")
                #expect(error.message.contains("--repair") && error.message.contains("4 in all"), "\(error.message)")
            }
            // Refusing changes nothing and reads nothing.
            #expect(try String(contentsOfFile: archive + "/manifest.json", encoding: .utf8) == before)
            #expect(source.reads.count == 6)
            let summary = try await source.export { url in
                var repairing = configuration(url: url, archive: archive)
                repairing.repair = true
                return repairing
            }
            #expect(summary.complete)
            #expect(source.reads.count == 10)
            #expect(try SeriesComparison.archiveContents(archive) == expectedMap())
            let report = ArchiveVerifier.verify(archive)
            #expect(report.sound, "\(report.errors)")
        }
    }

    @Test func aDeletedSegmentIsNamedAndRepaired() async throws {
        try await damage({ try FileManager.default.removeItem(atPath: $0) }, expecting: "is missing")
    }

    @Test func aTruncatedSegmentIsNamedAndRepaired() async throws {
        try await damage({ path in
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: path))
        }, expecting: "bytes, the manifest says")
    }
}

/// Links planted at the names of the exporter's temporary files once made a resumed export write
/// through them (overwriting their targets) and left SHA256SUMS itself a link. Temporary files are
/// now removed and created anew (O_EXCL, O_NOFOLLOW), never followed.
@Suite struct PlantedLinkTests {
    @Test(arguments: ["SHA256SUMS.tmp", "manifest.json.tmp"])
    func aResumedExportReplacesALinkAtItsTemporaryFile(_ name: String) async throws {
        let data = FakeRemoteReadSource(series: dataset)
        try await withSource({ r, _ in data.answer(r.body) }) { source, dir in
            let archive = dir + "/a"
            _ = try await source.export { configuration(url: $0, archive: archive) }
            let victim = dir + "/victim.txt"
            try Data("precious\n".utf8).write(to: URL(fileURLWithPath: victim))
            try FileManager.default.createSymbolicLink(atPath: archive + "/" + name, withDestinationPath: victim)
            let summary = try await source.export { configuration(url: $0, archive: archive) }
            #expect(summary.complete)
            #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
            for file in ["SHA256SUMS", "manifest.json"] {
                let kind = try FileManager.default.attributesOfItem(atPath: archive + "/" + file)[.type] as? FileAttributeType
                #expect(kind == .typeRegular, "\(file) is \(String(describing: kind))")
            }
            #expect(!FileManager.default.fileExists(atPath: archive + "/" + name))
            let report = ArchiveVerifier.verify(archive)
            #expect(report.sound, "\(report.errors)")
        }
    }
}
