import RemoteStorageClient
import Testing

@Suite struct RetryPolicyTests {
    @Test func doublesUpToTheCapWithJitterInTheUpperHalf() {
        let policy = RetryPolicy(maxAttempts: 10, initialDelaySeconds: 1, maxDelaySeconds: 8)
        let top = { (range: ClosedRange<Double>) in range.upperBound }
        let bottom = { (range: ClosedRange<Double>) in range.lowerBound }
        #expect((1...6).map { policy.delay(beforeRetry: $0, random: top) } == [1, 2, 4, 8, 8, 8])
        #expect(policy.delay(beforeRetry: 3, random: bottom) == 2)
    }

    @Test func honoursALongerRetryAfterWithinACap() {
        let policy = RetryPolicy(maxAttempts: 3, initialDelaySeconds: 1, maxDelaySeconds: 8)
        let top = { (range: ClosedRange<Double>) in range.upperBound }
        #expect(policy.delay(beforeRetry: 1, retryAfterSeconds: 5, random: top) == 5)
        #expect(policy.delay(beforeRetry: 1, retryAfterSeconds: 3600, random: top) == 32)
        #expect(policy.delay(beforeRetry: 2, retryAfterSeconds: 0.1, random: top) == 2)
    }
}
