import ArchiveStore
@testable import ExportPipeline
import Foundation
import Logging
import PeerHarness
import Testing
import TestSupport

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
