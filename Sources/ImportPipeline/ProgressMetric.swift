import Crypto
import FoundationEssentials
import Logging
import PrometheusWire
import RemoteStorageClient

/// Stateless resume (`--progress-metric NAME`): the import's progress is written into the target
/// itself as the series `NAME{promferry_import="<id>"}`, whose value is the number of leading
/// segments (in manifest order) fully delivered, stamped with the wall-clock time of writing. On start,
/// the series is read back through the target's remote-read URL, so a re-run on a machine that has no
/// state file skips those segments (it re-sends at most the segments that were in progress).
///
/// `<id>` is the first 16 hex digits of SHA-256 over the archive's `createdAt`, its source URL, the
/// target URL and the filter: another import of the same archive gets another series.
struct ProgressMetric: Sendable {
    let name: String
    let id: String

    init(name: String, manifestCreatedAt: String, source: String, target: String, filter: String) {
        self.name = name
        let digest = SHA256.hash(data: Data("\(manifestCreatedAt)|\(source)|\(target)|\(filter)".utf8))
        id = digest.prefix(8).map { cFormat("%02x", $0) }.joined()
    }

    static let idLabel = "promferry_import"

    var labels: Labels { Labels(sorting: [Label("__name__", name), Label(Self.idLabel, id)]) }

    /// The largest count recorded in the target over the last `lookbackDays`, or 0 when there is none.
    func read(from endpoint: EndpointConfiguration, lookbackDays: Int64 = 400, logger: Logger) async throws -> Int {
        let client = try RemoteReadClient(endpoint: endpoint)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var best = 0
        do {
            try await client.checkReachable()
            try await client.read(startMs: now - lookbackDays * 86_400_000, endMs: now + 3_600_000,
                                  matchers: [LabelMatcher("__name__", .equal, name), LabelMatcher(Self.idLabel, .equal, id)],
                                  logger: logger) { series in
                for sample in series.samples where sample.value.isFinite && sample.value >= 0 {
                    best = max(best, Int(sample.value))
                }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return best
    }

    /// Records `count` leading segments as delivered, at `timestampMs`.
    func write(_ count: Int, at timestampMs: Int64, with client: RemoteWriteClient, logger: Logger) async throws {
        let sample = Sample(timestampMs: timestampMs, value: Double(count))
        let outcome = try await client.send(WriteRequest(timeseries: [WireTimeSeries(labels: labels, samples: [sample])]), logger: logger)
        if case .rejected(let status, let message) = outcome {
            throw ImportError(.rejected, "the target refused the progress metric \(name) (HTTP \(status)): \(message)")
        }
    }
}
