import BlockCompression
public import PrometheusWire
import Synchronization

/// A remote-write receiver that decodes every request and keeps what it accepted, counting how often
/// each (series, timestamp) arrived in an accepted request, so tests can prove "exactly once".
public final class FakeRemoteWriteTarget: Sendable {
    private struct State {
        var stored: [Labels: [Int64: UInt64]] = [:]
        var deliveries: [Labels: [Int64: Int]] = [:]
        var requests = 0
    }

    private let state = Mutex(State())
    /// Refuse (HTTP 400, like Prometheus) every request holding a sample for which this returns a reason.
    let refuse: @Sendable (Labels, Sample) -> String?

    public init(refuse: @escaping @Sendable (Labels, Sample) -> String? = { _, _ in nil }) {
        self.refuse = refuse
    }

    /// Handles one request as a Prometheus receiver would: all or nothing.
    public func handle(_ request: RecordedRequest) -> ScriptedReply {
        guard let body = try? Snappy.decompress(request.body, maxOutputBytes: 64 << 20),
              let write = try? WriteRequest.decode(body) else {
            return .respond(status: 400, headers: [], body: Array("cannot decode request".utf8))
        }
        for series in write.timeseries {
            guard Labels.isSortedAndUnique(series.labels.labels) else {
                return .respond(status: 400, headers: [], body: Array("labels not sorted".utf8))
            }
            for sample in series.samples {
                if let reason = refuse(series.labels, sample) {
                    return .respond(status: 400, headers: [], body: Array(reason.utf8))
                }
            }
        }
        state.withLock { state in
            state.requests += 1
            for series in write.timeseries {
                for sample in series.samples {
                    state.stored[series.labels, default: [:]][sample.timestampMs] = sample.valueBits
                    state.deliveries[series.labels, default: [:]][sample.timestampMs, default: 0] += 1
                }
            }
        }
        return .respond(status: 204, headers: [], body: [])
    }

    /// What the target holds, series by series in time order.
    public var contents: [Labels: [Sample]] {
        state.withLock { state in
            state.stored.mapValues { samples in
                samples.sorted { $0.key < $1.key }.map { Sample(timestampMs: $0.key, valueBits: $0.value) }
            }
        }
    }

    /// The largest number of accepted deliveries of any one (series, timestamp).
    public var maxDeliveries: Int {
        state.withLock { $0.deliveries.values.flatMap(\.values).max() ?? 0 }
    }

    public var acceptedRequests: Int { state.withLock { $0.requests } }
}
