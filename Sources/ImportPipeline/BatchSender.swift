import FoundationEssentials
import Logging
import PrometheusWire
import RemoteStorageClient

/// Delivers batches to the target: retries transient failures with backoff, splits requests the
/// target finds too large, and on refusals either stops or bisects down to the refused samples.
struct BatchSender: Sendable {
    let client: RemoteWriteClient
    let policy: RejectPolicy
    let retry: RetryPolicy
    let rateLimiter: RateLimiter?
    let rejects: RejectsFile?
    let counters: ImportCounters
    let progress: any ImportProgress
    let logger: Logger

    /// Sends `batch` completely; returns when every sample is stored or recorded as refused.
    func deliver(_ batch: Batch) async throws {
        try await send(batch.series, of: batch)
        counters.update { $0.batchesSent += 1 }
    }

    private func send(_ series: [WireTimeSeries], of batch: Batch) async throws {
        let samples = series.reduce(0) { $0 + $1.sampleCount }
        if let rateLimiter { try await rateLimiter.acquire(samples) }
        switch try await sendWithRetries(WriteRequest(timeseries: series), batch: batch) {
        case .accepted:
            counters.update { $0.samplesSent += samples }
        case .tooLarge(let message):
            guard samples > 1 else {
                throw ImportError(.rejected, "\(client.endpoint.redactedURL) refuses even a single sample as too large (HTTP 413: \(message))")
            }
            counters.update { $0.splits += 1 }
            logger.info("request split", metadata: ["segment": "\(batch.segment)", "batch": "\(batch.index)", "samples": "\(samples)",
                                                    "reason": "too large (HTTP 413)"])
            let (first, second) = Self.split(series)
            try await send(first, of: batch)
            try await send(second, of: batch)
        case .rejected(let status, let message):
            switch policy {
            case .stop:
                throw ImportError(.rejected, "\(client.endpoint.redactedURL) refused a request of \(samples) samples from "
                    + "\(batch.segment) (HTTP \(status)): \(message). Nothing of that request was counted as delivered; "
                    + Self.hint(message)
                    + "re-run with --on-reject isolate to deliver every acceptable sample and list the refused ones")
            case .isolate:
                if samples == 1, let refused = series.first(where: { $0.sampleCount > 0 }) {
                    // One float sample or one histogram; progress shows a histogram by its time and sum.
                    let histogram = refused.histograms.first
                    let sample = refused.samples.first ?? Sample(timestampMs: histogram!.timestampMs, valueBits: histogram!.sumBits)
                    try rejects?.record(series: refused.labels, sample: sample, histogram: histogram, status: status, reason: message)
                    counters.update { $0.samplesRejected += 1 }
                    progress.rejected(series: refused.labels, sample: sample, reason: message)
                    return
                }
                counters.update { $0.splits += 1 }
                logger.info("request split", metadata: ["segment": "\(batch.segment)", "batch": "\(batch.index)", "samples": "\(samples)",
                                                        "reason": "refused (HTTP \(status)): isolating the refused samples"])
                let (first, second) = Self.split(series)
                try await send(first, of: batch)
                try await send(second, of: batch)
            }
        }
    }

    private func sendWithRetries(_ request: WriteRequest, batch: Batch) async throws -> RemoteWriteClient.Outcome {
        do {
            return try await retry.run(onRetry: { attempt, delay, error in
                counters.update { $0.retries += 1 }
                progress.retrying(attempt: attempt, delaySeconds: delay, reason: error.message)
                logger.info("request retried", metadata: ["segment": "\(batch.segment)", "batch": "\(batch.index)", "attempt": "\(attempt)",
                                                          "delay.seconds": "\(cFormat("%.3f", delay))", "error": "\(error.message)"])
            }) { attempt in
                counters.update { $0.requests += 1 }
                return try await client.send(request, attempt: attempt, logger: logger)
            }
        } catch let error as RemoteStorageError where error.isRetryable {
            throw ImportError(.gaveUp, "a request from \(batch.segment) failed \(retry.maxAttempts) times; last error: "
                + "\(error.message). Re-run the same command to resume.", cause: error)
        }
    }

    /// What usually fixes a refusal, from the target's own words.
    static func hint(_ message: String) -> String {
        let text = message.lowercased()
        if text.contains("out of bounds") || text.contains("too old") || text.contains("out of order") {
            return "the target refuses history older than its head block: for Prometheus set "
                + "storage.tsdb.out_of_order_time_window in its configuration to cover the archive's range (see README), or "
        }
        return ""
    }

    /// Splits a request into two of about half the samples each. A series cut in two keeps its earlier
    /// samples in the first half, so sending the halves in order keeps every series in time order (an
    /// entry holds floats or histograms, never both: the batcher keeps them apart).
    static func split(_ series: [WireTimeSeries]) -> ([WireTimeSeries], [WireTimeSeries]) {
        let total = series.reduce(0) { $0 + $1.sampleCount }
        var budget = total / 2
        var first: [WireTimeSeries] = []
        var second: [WireTimeSeries] = []
        for s in series {
            if budget >= s.sampleCount {
                first.append(s)
                budget -= s.sampleCount
            } else if budget > 0 {
                let floats = min(budget, s.samples.count), histograms = budget - floats
                first.append(WireTimeSeries(labels: s.labels, samples: Array(s.samples.prefix(floats)),
                                            histograms: Array(s.histograms.prefix(histograms))))
                second.append(WireTimeSeries(labels: s.labels, samples: Array(s.samples.dropFirst(floats)),
                                             histograms: Array(s.histograms.dropFirst(histograms))))
                budget = 0
            } else {
                second.append(s)
            }
        }
        return (first, second)
    }
}
