public import Logging
public import PrometheusWire

/// Where an export reads series from: something that yields the series of a time range. A
/// Prometheus-compatible remote-read endpoint (`RemoteReadClient`), VictoriaMetrics' export API
/// (`VictoriaMetricsExportClient`) or TSDB blocks on disk; the export pipeline knows only this.
public protocol SeriesSource: Sendable {
    /// Fails fast, with a clear message, when the source cannot be reached at all.
    func checkReachable() async throws

    /// The labels the source adds to everything it returns (Prometheus' external labels), for the manifest.
    func externalLabels(logger: Logger) async -> [String: String]

    /// Reads `[startMs, endMs)` for `matchers` and hands each series to `emit` once, its samples
    /// inside the range and in time order. Memory beyond `memoryBudget` throws `.overBudget` (read the
    /// range again in smaller pieces); on any error `emit` may already have had part of the range.
    @discardableResult
    func read(startMs: Int64, endMs: Int64, matchers: [LabelMatcher], memoryBudget: Int?, logger: Logger,
              emit: (Series) async throws -> Void) async throws -> ReadOutcome

    /// The metric names that `selectors` select in `[startMs, endMs)`, sorted (a superset is allowed:
    /// reads still apply the selectors). `prom-export --shard-by series` splits a job by them.
    func metricNames(startMs: Int64, endMs: Int64, selectors: [SeriesSelector], logger: Logger) async throws -> [String]

    /// What an operator should know about the source once it is reachable (e.g. data it cannot read).
    var notes: [String] { get }

    /// Must be called once the source is no longer needed.
    func shutdown() async throws
}

/// The kinds of source an archive can come from, as the manifest records them.
public enum SourceKind: String, Sendable, Codable, CaseIterable {
    /// A Prometheus remote-read endpoint (Prometheus, Mimir, Cortex, Thanos, InfluxDB 1.x, …).
    case remoteRead = "remote-read"
    /// VictoriaMetrics' `/api/v1/export`.
    case victoriaMetrics = "victoriametrics"
    /// Prometheus TSDB blocks read from disk (`--source-tsdb`); the manifest's URL is the directory.
    case tsdb = "tsdb"
}

extension SeriesSource {
    public var notes: [String] { [] }
}

extension RemoteReadClient: SeriesSource {}
