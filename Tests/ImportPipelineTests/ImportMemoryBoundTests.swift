@testable import ImportPipeline
import RemoteStorageClient
import Testing

@Suite struct ImportMemoryBoundTests {
    func configuration(maxMemory: Int, concurrency: Int, batchBytes: Int = 8 << 20) -> ImportConfiguration {
        var c = ImportConfiguration(archivePath: "/a", target: EndpointConfiguration(url: "http://127.0.0.1:9/api/v1/write"),
                                    batchBytes: batchBytes, concurrency: concurrency)
        c.maxMemoryBytes = maxMemory
        return c
    }

    /// Every batch that can be alive at once (11 per sender) fits in what --max-memory leaves.
    @Test func batchesAreBoundedSoThatAllOfThemFit() {
        let tight = configuration(maxMemory: 64 << 20, concurrency: 4)
        #expect(tight.effectiveBatchBytes == (16 << 20) / 44)
        #expect(48 << 20 + tight.effectiveBatchBytes * 4 * ImportConfiguration.batchesPerSender <= 64 << 20)
        // With room to spare, the configured bound stands.
        #expect(configuration(maxMemory: 1 << 30, concurrency: 4).effectiveBatchBytes == 8 << 20)
        #expect(configuration(maxMemory: 1 << 30, concurrency: 4, batchBytes: 1 << 20).effectiveBatchBytes == 1 << 20)
    }
}
