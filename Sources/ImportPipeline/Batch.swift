import PrometheusWire

/// One write request's worth of samples, with the identity the journal records.
///
/// Invariant: within a batch a series appears once per record it came from (floats and histograms
/// are separate records), in time order, and a series
/// batches are sent in `index` order by one sender (the shard is a function of the labels).
struct Batch: Sendable {
    let segment: String
    /// Position among the segment's batches, in creation order; stable across runs with the same settings.
    let index: Int
    let shard: Int
    var series: [WireTimeSeries]

    /// Float samples and native histograms.
    var sampleCount: Int { series.reduce(0) { $0 + $1.samples.count + $1.histograms.count } }
}

/// Cuts a segment's series into batches, one open batch per shard.
///
/// Deterministic: the same segment, filter, `maxSamples`, `maxBytes` and shard count always give
/// the same batches with the same indices, which is what lets the journal name them.
struct Batcher {
    let segment: String
    let shards: Int
    let maxSamples: Int
    let maxBytes: Int
    private var open: [[WireTimeSeries]]
    private var openSamples: [Int]
    private var openBytes: [Int]
    private var nextIndex = 0

    init(segment: String, shards: Int, maxSamples: Int, maxBytes: Int) {
        self.segment = segment
        self.shards = shards
        self.maxSamples = maxSamples
        self.maxBytes = maxBytes
        open = Array(repeating: [], count: shards)
        openSamples = Array(repeating: 0, count: shards)
        openBytes = Array(repeating: 0, count: shards)
    }

    static func shard(of labels: Labels, among shards: Int) -> Int {
        // Stable across processes, so that a resumed import cuts the same batches.
        var hash = FNV1a()
        for label in labels.labels {
            hash.add(label.name)
            hash.add(0xff)
            hash.add(label.value)
            hash.add(0xfe)
        }
        return Int(hash.value % UInt64(shards))
    }

    /// Adds a series; returns the batches it completed.
    mutating func add(_ series: Series) -> [Batch] {
        let shard = Self.shard(of: series.labels, among: shards)
        let labelBytes = series.labels.labels.reduce(8) { $0 + $1.name.count + $1.value.count + 6 }
        var done: [Batch] = []
        // Prometheus 2.42 commits a request's float samples before its histograms, so a series that
        // changes kind inside one request loses (silently) whatever the commit order puts out of order:
        // its floats and histograms never share a request.
        let isHistograms = !series.histograms.isEmpty
        if open[shard].contains(where: { $0.labels == series.labels && !$0.histograms.isEmpty != isHistograms }) {
            done.append(close(shard))
        }
        var rest = series.samples[...]
        while !rest.isEmpty {
            let roomBySamples = maxSamples - openSamples[shard]
            let roomByBytes = (maxBytes - openBytes[shard] - labelBytes) / 20
            let room = min(roomBySamples, roomByBytes)
            if room <= 0 {
                done.append(close(shard))
                continue
            }
            let part = rest.prefix(room)
            rest = rest.dropFirst(part.count)
            open[shard].append(WireTimeSeries(labels: series.labels, samples: Array(part)))
            openSamples[shard] += part.count
            openBytes[shard] += labelBytes + part.count * 20
            if openSamples[shard] >= maxSamples { done.append(close(shard)) }
        }
        // A histogram counts as one sample, and against the byte limit by the larger of its encoded
        // size and the memory it holds while queued (about five times its encoded size with 85
        // buckets: a limit on encoded bytes alone let an import overrun --max-memory by 30%). One
        // larger than the limit goes alone.
        var histograms = series.histograms[...]
        while !histograms.isEmpty {
            var bytes = labelBytes
            var count = 0
            for h in histograms {
                let size = max(HistogramMessage.encode(h).count + 4, h.heldBytes)
                guard openSamples[shard] + count < maxSamples, count == 0 || openBytes[shard] + bytes + size <= maxBytes else { break }
                bytes += size
                count += 1
            }
            // No room left by count, or the first one overflows a batch that holds something: start a new batch.
            if count == 0 || (!open[shard].isEmpty && openBytes[shard] + bytes > maxBytes) {
                done.append(close(shard))
                continue
            }
            open[shard].append(WireTimeSeries(labels: series.labels, samples: [],
                                              histograms: histograms.prefix(count).map(\.withoutEmptySpans)))
            histograms = histograms.dropFirst(count)
            openSamples[shard] += count
            openBytes[shard] += bytes
            if openSamples[shard] >= maxSamples || openBytes[shard] >= maxBytes { done.append(close(shard)) }
        }
        return done
    }

    /// Closes every open batch, in shard order.
    mutating func finish() -> [Batch] {
        (0..<shards).filter { !open[$0].isEmpty }.map { close($0) }
    }

    private mutating func close(_ shard: Int) -> Batch {
        defer {
            open[shard] = []
            openSamples[shard] = 0
            openBytes[shard] = 0
            nextIndex += 1
        }
        return Batch(segment: segment, index: nextIndex, shard: shard, series: open[shard])
    }
}
