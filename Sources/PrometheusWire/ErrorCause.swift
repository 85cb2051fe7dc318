/// An error that keeps the error it was made from: a transport error under a remote-storage error,
/// a format error under an archive error, the last retryable error under "gave up". The message
/// already says what to do; the cause is for diagnostics (`--log-level debug`) and tests.
public protocol CausedError: Error {
    var cause: (any Error & Sendable)? { get }
}

extension CausedError {
    /// The errors under this one, outermost first (at most 8, against a cycle).
    public var causeChain: [any Error] {
        var chain: [any Error] = []
        var next: (any Error)? = cause
        while let current = next, chain.count < 8 {
            chain.append(current)
            next = (current as? any CausedError)?.cause
        }
        return chain
    }
}
