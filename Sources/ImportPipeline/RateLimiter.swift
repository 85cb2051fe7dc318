/// A token bucket shared by all senders: at most `samplesPerSecond` on average, bursts of one second.
actor RateLimiter {
    private let rate: Double
    private var tokens: Double
    private var last = ContinuousClock.now

    init(samplesPerSecond: Double) {
        precondition(samplesPerSecond > 0)
        rate = samplesPerSecond
        tokens = samplesPerSecond
    }

    /// Waits until `samples` may be sent.
    func acquire(_ samples: Int) async throws {
        refill()
        tokens -= Double(samples)
        if tokens < 0 {
            let wait = -tokens / rate
            try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
        }
    }

    private func refill() {
        let now = ContinuousClock.now
        let elapsed = now - last
        last = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(rate, tokens + seconds * rate)
    }
}
