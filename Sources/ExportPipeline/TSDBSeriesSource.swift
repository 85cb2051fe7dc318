import Logging
import PrometheusWire
import RemoteStorageClient
import Synchronization
import TSDBBlocks

/// Prometheus TSDB blocks on disk as an export source (`--source-tsdb`): no server, no network.
///
/// The directory is opened once, by `checkReachable` (which the pipeline calls first), and its files
/// stay open until `shutdown`; every slab read goes to that one consistent set of blocks.
final class TSDBSeriesSource: SeriesSource {
    let path: String
    private let opened = Mutex<TSDBDirectory?>(nil)

    init(path: String) {
        self.path = path
    }

    private func directory() throws -> TSDBDirectory {
        try opened.withLock { directory in
            if let directory { return directory }
            let fresh = try TSDBDirectory(path: path)
            directory = fresh
            return fresh
        }
    }

    func checkReachable() async throws {
        _ = try directory()
    }

    func externalLabels(logger: Logger) async -> [String: String] {
        (try? directory().externalLabels) ?? [:]
    }

    var notes: [String] { (try? directory().notes) ?? [] }

    func metricNames(startMs: Int64, endMs: Int64, selectors: [SeriesSelector], logger: Logger) async throws -> [String] {
        try directory().metricNames(startMs: startMs, endMs: endMs, selectors: selectors)
    }

    @discardableResult
    func read(startMs: Int64, endMs: Int64, matchers: [LabelMatcher], memoryBudget: Int?, logger: Logger,
              emit: (Series) async throws -> Void) async throws -> ReadOutcome {
        do {
            let stats = try await directory().read(startMs: startMs, endMs: endMs, matchers: matchers, memoryBudget: memoryBudget, emit: emit)
            return ReadOutcome(kind: .tsdbBlocks, peakBufferedBytes: stats.peakSeriesBytes, bodyBytes: stats.chunkBytes, samples: stats.samples)
        } catch let error as TSDBError where error.code == .overBudget {
            throw RemoteStorageError(.overBudget, error.message)
        }
    }

    func shutdown() async throws {
        opened.withLock { $0 = nil }
    }
}
