/// Capped exponential backoff with full jitter.
///
/// Attempt n (from 1) waits a random time in `[delay/2, delay]` where `delay = min(initial * 2^(n-1), max)`;
/// a server's `Retry-After` replaces the computed delay when longer (capped at `maxDelaySeconds` × 4).
public struct RetryPolicy: Sendable, Equatable {
    public let maxAttempts: Int
    public let initialDelaySeconds: Double
    public let maxDelaySeconds: Double

    public init(maxAttempts: Int = 6, initialDelaySeconds: Double = 0.5, maxDelaySeconds: Double = 30) {
        precondition(maxAttempts >= 1 && initialDelaySeconds > 0 && maxDelaySeconds >= initialDelaySeconds)
        self.maxAttempts = maxAttempts
        self.initialDelaySeconds = initialDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
    }

    /// The wait before retry number `attempt` (1 = first retry).
    public func delay(beforeRetry attempt: Int, retryAfterSeconds: Double? = nil,
                      random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) -> Double {
        let exponent = min(attempt - 1, 30)
        let capped = min(initialDelaySeconds * Double(1 << exponent), maxDelaySeconds)
        let jittered = random((capped / 2)...capped)
        if let retryAfterSeconds { return max(jittered, min(retryAfterSeconds, maxDelaySeconds * 4)) }
        return jittered
    }

    /// Runs `body` until it succeeds or fails in a way not worth retrying: a retryable
    /// `RemoteStorageError` is retried after `delay`, up to `maxAttempts` attempts in all, telling
    /// `onRetry` (attempt, delay, error) before each wait. The last error is rethrown unchanged, so
    /// that a caller can tell "gave up after `maxAttempts`" (still retryable) from a refusal.
    /// `body` gets the attempt's number (from 1), e.g. for a retry header; cancellation is checked
    /// before each attempt.
    @discardableResult
    public func run<T>(onRetry: (Int, Double, RemoteStorageError) -> Void, _ body: (Int) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            try Task.checkCancellation()
            do {
                return try await body(attempt)
            } catch let error as RemoteStorageError where error.isRetryable && attempt < maxAttempts {
                let wait = delay(beforeRetry: attempt, retryAfterSeconds: error.retryAfterSeconds)
                onRetry(attempt, wait, error)
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
            }
        }
    }
}
