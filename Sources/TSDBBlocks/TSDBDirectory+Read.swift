public import PrometheusWire

extension TSDBDirectory {
    /// What one read did, for progress and for sizing the next slab.
    public struct ReadStats: Sendable {
        public var series = 0
        public var samples = 0
        /// Chunk bytes read from the blocks.
        public var chunkBytes = 0
        /// Most memory one series' decoded samples held.
        public var peakSeriesBytes = 0
    }

    /// Reads `[startMs, endMs)` of the series matching every one of `matchers` and hands each to
    /// `emit` once: its samples from all blocks that hold it, in time order, the first of any
    /// duplicate timestamp kept (overlapping blocks), without the samples its blocks' tombstones
    /// delete. A block's Thanos labels are added to its series, unless a series has that label itself.
    ///
    /// Blocks are merged per set of external labels; within a set, series come in label order.
    ///
    /// - Throws: `TSDBError`; `.overBudget` when one series' samples need more than `memoryBudget` bytes.
    @discardableResult
    public func read(startMs: Int64, endMs: Int64, matchers: [LabelMatcher], memoryBudget: Int?,
                     emit: (Series) async throws -> Void) async throws -> ReadStats {
        let filter: SeriesFilter
        do {
            filter = try SeriesFilter(selectors: [SeriesSelector(matchers: matchers)])
        } catch {
            throw TSDBError(.unsupported, "the selector \(SeriesSelector(matchers: matchers)) has an invalid regular expression")
        }
        var stats = ReadStats()
        let groups = Dictionary(grouping: blocks.filter { $0.overlaps(startMs: startMs, endMs: endMs) }, by: \.externalLabels)
        for external in groups.keys.sorted(by: { Labels(sorted: $0) < Labels(sorted: $1) }) {
            var cursors = try groups[external]!.map {
                try BlockSeriesCursor(block: $0, matchers: matchers, filter: filter, startMs: startMs, endMs: endMs)
            }
            var heads = try cursors.indices.map { try cursors[$0].next() }
            while let lowest = heads.compactMap({ $0?.labels }).min() {
                var merge = SeriesMerge(startMs: startMs, endMs: endMs, budget: memoryBudget ?? .max)
                for i in heads.indices where heads[i]?.labels == lowest {
                    try merge.add(heads[i]!, from: cursors[i].block, chunkCursor: &cursors[i].chunkCursor, stats: &stats)
                    heads[i] = try cursors[i].next()
                }
                let labels = Self.adding(external, to: lowest)
                guard filter.matches(labels), let series = merge.finish(labels: labels) else { continue }
                stats.series += 1
                stats.samples += series.samples.count + series.histograms.count
                stats.peakSeriesBytes = max(stats.peakSeriesBytes, merge.heldBytes)
                try await emit(series)
            }
        }
        return stats
    }

    /// `labels` with each of `external` that it lacks, as a server adds its external labels.
    static func adding(_ external: [Label], to labels: Labels) -> Labels {
        guard !external.isEmpty else { return labels }
        let own = Set(labels.labels.map(\.name))
        return Labels(sorting: labels.labels + external.filter { !own.contains($0.name) })
    }
}

/// One series' samples gathered from the blocks that hold it: decoded chunk by chunk, kept inside
/// the range and outside the tombstones, then put in time order with duplicates dropped.
struct SeriesMerge {
    let startMs: Int64
    let endMs: Int64
    let budget: Int
    private var samples: [Sample] = []
    private var samplesSorted = true
    private var histograms: [HistogramSample] = []
    private var histogramsSorted = true
    private var startTimestamps: [Int64: Int64] = [:]
    /// Bytes of the histograms decoded so far.
    private var bytes = 0

    /// Memory the decoded samples hold: 16 bytes a float sample, a histogram's fields and buckets.
    var heldBytes: Int { bytes + samples.count * MemoryLayout<Sample>.stride + startTimestamps.count * 40 }

    init(startMs: Int64, endMs: Int64, budget: Int) {
        self.startMs = startMs
        self.endMs = endMs
        self.budget = budget
    }

    mutating func add(_ entry: BlockSeriesCursor.Entry, from block: Block, chunkCursor: inout ChunkFiles.Cursor,
                      stats: inout TSDBDirectory.ReadStats) throws {
        let deleted = block.tombstones.intervals(of: entry.ref)
        let (startMs, endMs) = (self.startMs, self.endMs)
        let keep: (Int64) -> Bool = { t in t >= startMs && t < endMs && !deleted.contains { $0.contains(t) } }
        for meta in entry.chunks {
            // A chunk wholly deleted is never read.
            if deleted.contains(where: { $0.lowerBound <= meta.minTimeMs && $0.upperBound >= meta.maxTimeMs }) { continue }
            let (encoding, data) = try block.chunks.chunk(meta.ref, cursor: &chunkCursor)
            stats.chunkBytes += data.count + 1
            do {
                switch Chunk.Encoding(rawValue: UInt64(encoding)) {
                case .xor?:
                    let first = samples.count
                    try XORChunk.decode(data, appendingTo: &samples)
                    TimeOrdering.keep(&samples, from: first, sorted: &samplesSorted, where: keep)
                case .xor2?:
                    let decoded = try XOR2Chunk.decode(Array(data))
                    for (sample, start) in zip(decoded.samples, decoded.startTimestampsMs) where start != 0 && keep(sample.timestampMs) {
                        if startTimestamps[sample.timestampMs] == nil { startTimestamps[sample.timestampMs] = start }
                    }
                    let first = samples.count
                    samples += decoded.samples
                    TimeOrdering.keep(&samples, from: first, sorted: &samplesSorted, where: keep)
                case let kind? where [.histogram, .floatHistogram, .histogramST, .floatHistogramST].contains(kind):
                    let first = histograms.count
                    histograms += try HistogramChunk.decode(Array(data), encoding: kind)
                    TimeOrdering.keep(&histograms, from: first, sorted: &histogramsSorted, where: keep)
                    bytes += histograms[first...].reduce(0) { $0 + $1.heldBytes }
                default:
                    throw TSDBError(.unsupported, "\(block.directory): series \(entry.labels) has a chunk of encoding \(encoding), "
                        + "unknown to this version")
                }
            } catch let error as WireError {
                throw TSDBError(.corrupt, "\(block.directory): series \(entry.labels): the chunk at reference \(meta.ref) "
                    + "does not decode (\(error.message)); the block is damaged")
            }
            guard heldBytes <= budget else {
                throw TSDBError(.overBudget, "series \(entry.labels) holds more than the \(budget) bytes this read may use "
                    + "(--max-memory divided among --concurrency reads)")
            }
        }
    }

    /// The merged series, or nil when nothing of it is left in the range.
    func finish(labels: Labels) -> Series? {
        guard !samples.isEmpty || !histograms.isEmpty else { return nil }
        var series = Series(labels: labels, samples: TimeOrdering.ordered(samples, sorted: samplesSorted),
                            histograms: TimeOrdering.ordered(histograms, sorted: histogramsSorted))
        if !startTimestamps.isEmpty { series.sampleStartTimestampsMs = series.samples.map { startTimestamps[$0.timestampMs] ?? 0 } }
        return series
    }
}
