import ArchiveFormat
import ArchiveStore
import Logging
import PrometheusWire
import RemoteStorageClient
import Synchronization
import FoundationEssentials

/// One read of the plan. Its ticket is its place in the plan: slabs are committed in ticket order,
/// and the ticket names the read's segment files.
struct SlabRead: Sendable {
    let ticket: Int
    let startMs: Int64
    let endMs: Int64
    /// Reply bytes this read may hold (its share of `--max-memory`).
    let budgetBytes: Int
}

/// A slab whose segments are durable on disk, ready to be listed in the manifest.
struct CompletedSlab: Sendable {
    let startMs: Int64
    let endMs: Int64
    let series: Int
    let samples: Int
    let segments: [Manifest.SegmentEntry]
}

/// What a read produced: one slab, or several consecutive ones when the read had to be split, and
/// what it cost, for the sizer.
struct SlabReadResult: Sendable {
    let ticket: Int
    /// The share of `--max-memory` the read ran with.
    let budgetBytes: Int
    var slabs: [CompletedSlab] = []
    /// Per completed slab: its width and the most reply data it held at once.
    var observations: [(widthMs: Int64, peakBytes: Int)] = []
    /// The narrowest piece a split produced, when the read was split.
    var narrowedToMs: Int64?
    var kind: ReadResponseKind?
    var retries = 0
    var splits = 0
    var seriesHashes: [Int] = []
}

/// Samples and bytes written by reads still in flight, for the progress line.
final class InFlightCounters: Sendable {
    private let state = Mutex<[Int: (samples: Int, bytes: Int)]>([:])

    func set(ticket: Int, samples: Int, bytes: Int) { state.withLock { $0[ticket] = (samples, bytes) } }
    func remove(ticket: Int) { _ = state.withLock { $0.removeValue(forKey: ticket) } }
    var totals: (samples: Int, bytes: Int, reads: Int) {
        state.withLock { map in
            map.values.reduce((0, 0, map.count)) { ($0.0 + $1.samples, $0.1 + $1.bytes, $0.2) }
        }
    }
}

/// `source → segment writer` for one slab read.
///
/// Retries transient failures with backoff; a slab the source refuses as too large (its sample limit)
/// or whose reply would overrun the read's memory budget is abandoned (its files removed) and read
/// again as two halves, recursively, down to 1 ms. On any thrown error, nothing of the read is left
/// on disk.
struct SlabReader: Sendable {
    let client: any SeriesSource
    /// The archive's root; each read uses its own handle (the coordinator's holds the lock).
    let archiveRoot: String
    let configuration: ExportConfiguration
    let progress: any ExportProgress
    let inFlight: InFlightCounters
    let onSamples: @Sendable () -> Void
    let logger: Logger

    func read(_ slab: SlabRead) async throws -> SlabReadResult {
        let archive = ArchiveDirectory(root: archiveRoot)
        var result = SlabReadResult(ticket: slab.ticket, budgetBytes: slab.budgetBytes)
        var written: [CompletedSlab] = []
        do {
            try await read(slab, archive: archive, into: &result, written: &written)
        } catch {
            for done in written { for segment in done.segments { try? archive.removeFile(segment.file) } }
            inFlight.remove(ticket: slab.ticket)
            throw error
        }
        return result
    }

    private func read(_ slab: SlabRead, archive: ArchiveDirectory, into result: inout SlabReadResult, written: inout [CompletedSlab]) async throws {
        let dropLabels = Set(configuration.dropLabels)
        var pending = [(slab.startMs, slab.endMs)]
        var part = 0
        var committedSamples = 0
        var committedBytes = 0
        while !pending.isEmpty {
            let (startMs, endMs) = pending.removeFirst()
            do {
                let done = try await configuration.retry.run(onRetry: { attempt, delay, error in
                    progress.retrying(slabStartMs: startMs, attempt: attempt, delaySeconds: delay, reason: error.message)
                    logger.info("slab read retried", metadata: [
                        "slab.start": "\(ExportPipeline.timestamp(ms: startMs))", "attempt": "\(attempt)",
                        "delay.seconds": "\(cFormat("%.3f", delay))", "error": "\(error.message)"])
                    result.retries += 1
                }) { _ in
                    try await readOnce(startMs, endMs, slab: slab, archive: archive, dropLabels: dropLabels, part: &part,
                                       into: &result, committed: (committedSamples, committedBytes))
                }
                written.append(done)
                result.slabs.append(done)
                committedSamples += done.samples
                committedBytes += done.segments.reduce(0) { $0 + $1.bytes }
            } catch let error as RemoteStorageError where error.code == .sampleLimitExceeded || error.code == .overBudget {
                guard endMs - startMs > 1 else { throw cannotSplit(error) }
                let middle = startMs + (endMs - startMs) / 2
                pending.insert(contentsOf: [(startMs, middle), (middle, endMs)], at: 0)
                result.splits += 1
                result.narrowedToMs = min(result.narrowedToMs ?? .max, middle - startMs)
                let why = error.code == .overBudget ? "would hold more than its share of --max-memory" : "exceeds the source's sample limit"
                logger.info("slab split", metadata: [
                    "slab.start": "\(ExportPipeline.timestamp(ms: startMs))", "slab.width.ms": "\(endMs - startMs)",
                    "reason": "\(error.code == .overBudget ? "over budget" : "sample limit")", "error": "\(error.message)"])
                progress.note("slab [\(ExportPipeline.timestamp(ms: startMs)), +\(ExportPipeline.duration(endMs - startMs))) \(why); "
                    + "reading it again as two halves")
            } catch let error as RemoteStorageError where error.isRetryable {
                throw ExportError(.gaveUp, "slab [\(ExportPipeline.timestamp(ms: startMs)), \(ExportPipeline.timestamp(ms: endMs))) "
                    + "failed \(configuration.retry.maxAttempts) times; last error: \(error.message). Re-run the same command to resume.",
                    cause: error)
            }
        }
    }

    /// One attempt at reading `[startMs, endMs)` into new segment files; on any error they are removed
    /// (`part` still moves past their numbers, so names never repeat) and the error is rethrown.
    private func readOnce(_ startMs: Int64, _ endMs: Int64, slab: SlabRead, archive: ArchiveDirectory, dropLabels: Set<String>,
                          part: inout Int, into result: inout SlabReadResult, committed: (samples: Int, bytes: Int)) async throws -> CompletedSlab {
        let writer = SlabWriter(archive: archive, ticket: slab.ticket, firstPart: part,
                                compressionLevel: configuration.compressionLevel,
                                segmentTargetBytes: configuration.segmentTargetBytes, dropLabels: dropLabels)
        do {
            var peak = 0
            for selector in configuration.selectors {
                let outcome = try await client.read(startMs: startMs, endMs: endMs, matchers: selector.matchers,
                                                    memoryBudget: slab.budgetBytes, logger: logger) { series in
                    _ = try writer.add(series)
                    inFlight.set(ticket: slab.ticket, samples: committed.samples + writer.samples,
                                 bytes: committed.bytes + writer.bytesWritten)
                    onSamples()
                }
                result.kind = outcome.kind
                peak = max(peak, outcome.peakBufferedBytes)
            }
            let segments = try writer.finish()
            part = writer.nextPart
            result.observations.append((endMs - startMs, peak))
            result.seriesHashes += writer.seriesWritten.map(\.hashValue)
            return CompletedSlab(startMs: startMs, endMs: endMs, series: writer.seriesCount, samples: writer.samples, segments: segments)
        } catch {
            writer.abandon()
            part = writer.nextPart
            throw error
        }
    }

    private func cannotSplit(_ error: RemoteStorageError) -> ExportError {
        if error.code == .overBudget {
            return ExportError(.cannotSplit, "\(error.message); even a 1 ms slab needs more: raise --max-memory, "
                + (configuration.concurrency > 1 ? "lower --concurrency, " : "") + "or narrow --match")
        }
        return ExportError(.cannotSplit, "\(error.message); even a 1 ms slab exceeds the source's sample limit: "
            + "raise --storage.remote.read-sample-limit on the source or narrow --match")
    }
}
