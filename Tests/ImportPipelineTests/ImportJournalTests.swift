import ArchiveStore
import Foundation
@testable import ImportPipeline
import Testing
import PeerHarness

@Suite struct ImportJournalTests {
    static let header = ImportJournal.Header(archiveCreatedAt: "2026-12-03T00:00:00Z", archiveSource: "http://127.0.0.1:1/api/v1/read",
                                             target: "http://127.0.0.1:2/api/v1/write", filter: "", batchSamples: 100,
                                             batchBytes: 1 << 20, concurrency: 8)

    /// Group commit: many senders acknowledge at once and share fsyncs, but each call returns only once
    /// its own line is in the file, and a reopened journal knows every batch (and the finished segment).
    @Test func everyAcknowledgementIsInTheFileWhenItsCallReturns() async throws {
        let directory = try TemporaryDirectory(prefix: "journal")
        defer { directory.remove() }
        let path = directory.path + "/state"
        let segment = "segments/000000-0000.pfs"
        let batches = 200
        do {
            let journal = try ImportJournal(path: path, header: Self.header, order: [segment])
            try await journal.expect(segment: segment, batches: batches)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for batch in 0..<batches {
                    group.addTask {
                        try await journal.acknowledge(segment: segment, batch: batch, samples: 10)
                        let text = try String(contentsOfFile: path, encoding: .utf8)
                        #expect(text.contains(#"{"batch":\#(batch),"segment":"\#(segment)"}"# + "\n"), "batch \(batch)")
                    }
                }
                try await group.waitForAll()
            }
            #expect(await journal.doneSegments == [segment])
        }
        // The first journal's lock goes with its last reference, which its group-commit thread may hold a
        // moment after the last acknowledgement returned (seen once in CI under load): wait for it.
        var reopened: ImportJournal
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                reopened = try ImportJournal(path: path, header: Self.header, order: [segment])
                break
            } catch let error as ArchiveStoreError where error.code == .locked && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(await reopened.resumed)
        #expect(await reopened.doneSegments == [segment])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(#"{"done":true,"samples":\#(batches * 10),"segment":"\#(segment)"}"#))
    }
}
