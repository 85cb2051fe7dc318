@testable import Commands
import Foundation
import ImportPipeline
import Testing

@Suite struct SummaryTextTests {
    static func summary(mismatches: Int) throws -> ImportSummary {
        let json = """
        {"archive":"a","target":"http://127.0.0.1:9090/api/v1/write","dryRun":false,"complete":true,"segments":3,
         "segmentsSkippedCorrupt":[],"segmentsAlreadyDone":0,"samplesRead":10,"samplesSelected":10,"samplesSent":10,
         "samplesAlreadyDelivered":0,"samplesRejected":0,"batches":1,"requests":1,"retries":0,"splits":0,
         "wallSeconds":1,"samplesPerSecond":10,
         "verification":{"seriesExpected":2,"samplesExpected":10,"seriesFound":2,"samplesFound":\(10 - mismatches),
                         "mismatches":\(mismatches),"details":\(mismatches > 0 ? "[\"{a=\\\"1\\\"}: target holds 9 samples, the archive 10\"]" : "[]")}}
        """
        return try JSONDecoder().decode(ImportSummary.self, from: Data(json.utf8))
    }

    /// A failed verification says what to do next: look again once the target settles, then re-import
    /// what it lost. A passed one says nothing of the kind.
    @Test func aFailedVerificationSaysWhatToDoNext() throws {
        let failed = ImportSummaryText.render(try Self.summary(mismatches: 1))
        #expect(failed.contains("verification    FAILED"))
        #expect(failed.contains("target holds 9 samples, the archive 10"))
        #expect(failed.contains("re-run the same command in a minute"))
        #expect(failed.contains("import again with a new --state"))
        let passed = ImportSummaryText.render(try Self.summary(mismatches: 0))
        #expect(passed.contains("verification    passed"))
        #expect(!passed.contains("--state ("))
        #expect(!passed.contains("next "))
    }
}
