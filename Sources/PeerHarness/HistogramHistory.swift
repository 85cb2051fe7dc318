public import PrometheusWire

/// Reproducible native-histogram history for tests, benchmarks and the demo: every case a histogram
/// path must carry, one kind per series (`kind(of:)`).
///
/// - counter histograms over every exponential schema -4…8 whose layout grows as new buckets fill, with a
///   counter reset half-way;
/// - negative buckets, a zero threshold that is not a power of two, and gaps between spans (never a
///   span of length 0, which makes Prometheus 2.42 panic);
/// - gauge histograms whose counts go down (in their first two thirds);
/// - float histograms;
/// - counts above 2^40, and a NaN sum;
/// - a staleness marker (the stale NaN as sum) after which the series starts again.
///
/// Counts always add up as Prometheus checks them: count = zero count + every bucket.
public struct HistogramHistory: Sendable {
    public enum Kind: Int, CaseIterable, Sendable {
        case counter, negativeAndGaps, gauge, float, huge, stale
    }

    public let seriesCount: Int
    public let startMs: Int64
    public let endMs: Int64
    public let intervalMs: Int64
    public let seed: UInt64
    /// Whether gauge histograms' counts go down. Prometheus 2.42 cannot serve a read whose range cuts
    /// a chunk holding such a decrease, and slabs cut chunks; exports from 2.42 need this off.
    public let gaugesGoDown: Bool

    public init(seriesCount: Int, startMs: Int64, endMs: Int64, intervalMs: Int64 = 15_000, seed: UInt64 = 7, gaugesGoDown: Bool = true) {
        self.seriesCount = seriesCount
        self.startMs = startMs
        self.endMs = endMs
        self.intervalMs = intervalMs
        self.seed = seed
        self.gaugesGoDown = gaugesGoDown
    }

    public func kind(of index: Int) -> Kind { Kind(rawValue: index % Kind.allCases.count)! }

    public func series() -> [Series] { (0..<seriesCount).map(makeSeries) }

    public var sampleCount: Int { series().reduce(0) { $0 + $1.histograms.count } }

    func labels(_ index: Int) -> Labels {
        let names: [Kind: String] = [.counter: "rpc_duration_seconds", .negativeAndGaps: "temperature_delta_celsius",
                                     .gauge: "queue_wait_seconds", .float: "request_size_bytes", .huge: "packets_bytes",
                                     .stale: "job_duration_seconds"]
        return Labels(sorting: [Label("__name__", names[kind(of: index)]!), Label("job", "app"), Label("instance", "pod-\(index)")])
    }

    func makeSeries(_ index: Int) -> Series {
        var random = SplitMix(seed: seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        let kind = kind(of: index)
        let schema = Int32(index / Kind.allCases.count % 13) - 4
        var positive: [Int32: UInt64] = [:], negative: [Int32: UInt64] = [:]
        var zeroCount: UInt64 = 0
        var sum = 0.0
        var histograms: [HistogramSample] = []
        let first: Int64 = startMs + Int64(index % 10) * 1000
        let times: [Int64] = Array(stride(from: first, to: endMs, by: Int(intervalMs)).map { Int64($0) })
        for (step, t) in times.enumerated() {
            if kind == .stale && step == times.count / 3 {
                histograms.append(.staleMarker(timestampMs: t, float: false))
                continue
            }
            if kind == .counter && step == times.count / 2 {
                (positive, negative, zeroCount, sum) = ([:], [:], 0, 0)
            }
            // Observations: a few buckets around a drifting centre; new buckets appear over time.
            let centre = Int32(step / 40) + Int32(random.next() % 3)
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let bucket = centre + Int32(random.next() % 5) * (kind == .negativeAndGaps ? 3 : 1)
                let amount: UInt64 = kind == .huge ? (1 << 41) + random.next() % 1000 : 1 + random.next() % 20
                if kind == .negativeAndGaps && random.next() % 2 == 0 {
                    negative[bucket, default: 0] += amount
                } else {
                    positive[bucket, default: 0] += amount
                }
                sum += Double(amount) * (0.001 * Double(bucket + 10))
            }
            if random.next() % 5 == 0 { zeroCount += 1 }
            if kind == .gauge, gaugesGoDown, step % 3 == 2, step < times.count * 2 / 3 {
                // A gauge histogram's counts go down as well as up. Not in the last third: Prometheus 2.42
                // re-encodes a series' open chunk for every read and fails on a gauge's decrease there
                // ("detected unexpected counter reset in histogram").
                for key in positive.keys { positive[key] = positive[key]! / 2 }
                zeroCount /= 2
            }
            let count = zeroCount + positive.values.reduce(0, +) + negative.values.reduce(0, +)
            let (positiveSpans, positiveCounts) = Self.layout(positive)
            let (negativeSpans, negativeCounts) = Self.layout(negative)
            let threshold = kind == .negativeAndGaps ? 0.001 : 0x1p-128
            let sumBits = kind == .huge && step == times.count / 2 ? 0x7FF8_0000_0000_0001 : sum.bitPattern
            let counts: HistogramSample.Counts = kind == .float
                ? .float(countBits: (Double(count) * 0.5).bitPattern, zeroCountBits: (Double(zeroCount) * 0.5).bitPattern,
                         positiveBits: positiveCounts.map { (Double($0) * 0.5).bitPattern },
                         negativeBits: negativeCounts.map { (Double($0) * 0.5).bitPattern })
                : .integer(count: count, zeroCount: zeroCount, positiveDeltas: Self.deltas(positiveCounts),
                           negativeDeltas: Self.deltas(negativeCounts))
            histograms.append(HistogramSample(timestampMs: t, resetHint: kind == .gauge ? .gauge : .unknown, schema: schema,
                                              zeroThresholdBits: threshold.bitPattern, sumBits: sumBits, positiveSpans: positiveSpans,
                                              negativeSpans: negativeSpans, counts: counts))
        }
        return Series(labels: labels(index), samples: [], histograms: histograms)
    }

    /// Spans over the occupied bucket indices (runs of consecutive indices; a gap becomes an offset)
    /// and the absolute counts in index order.
    static func layout(_ buckets: [Int32: UInt64]) -> ([HistogramSample.Span], [UInt64]) {
        var spans: [HistogramSample.Span] = []
        var counts: [UInt64] = []
        var previousEnd: Int32?
        for index in buckets.keys.sorted() {
            if let end = previousEnd, index == end {
                spans[spans.count - 1].length += 1
            } else {
                spans.append(HistogramSample.Span(offset: previousEnd.map { index - $0 } ?? index, length: 1))
            }
            previousEnd = index + 1
            counts.append(buckets[index]!)
        }
        return (spans, counts)
    }

    /// Delta encoding: the first count, then each count's difference from the one before.
    static func deltas(_ counts: [UInt64]) -> [Int64] {
        var previous: Int64 = 0
        return counts.map { count in
            defer { previous = Int64(count) }
            return Int64(count) - previous
        }
    }
}

/// Histogram-heavy history for the benchmark: counter histograms as a busy service exports them,
/// with 10 to 160 occupied buckets across series, counts growing at every scrape, a counter reset
/// every few hours, and every tenth series changing its schema half-way (which Prometheus sees as a
/// reset too).
public struct HistogramBenchHistory: Sendable {
    public let seriesCount: Int
    public let startMs: Int64
    public let endMs: Int64
    public let intervalMs: Int64

    public init(seriesCount: Int, startMs: Int64, endMs: Int64, intervalMs: Int64 = 15_000) {
        self.seriesCount = seriesCount
        self.startMs = startMs
        self.endMs = endMs
        self.intervalMs = intervalMs
    }

    /// Buckets series `index` occupies: 10…160, spread evenly over the series.
    public func buckets(of index: Int) -> Int { 10 + index * 151 / max(1, seriesCount) }

    public func series(_ index: Int) -> Series {
        var random = SplitMix(seed: 0xB1_57 ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        let width = buckets(of: index)
        var schema = Int32(index % 4)
        let first = -Int32(width / 2)
        var counts = [UInt64](repeating: 0, count: width)
        var zeroCount: UInt64 = 0, sum = 0.0
        var histograms: [HistogramSample] = []
        let times = stride(from: startMs + Int64(index % 15) * 1000, to: endMs, by: Int(intervalMs)).map { Int64($0) }
        let resetEvery = 960 + index % 480
        for (step, t) in times.enumerated() {
            var hint = HistogramSample.ResetHint.unknown
            if step > 0 && step % resetEvery == 0 {
                counts = [UInt64](repeating: 0, count: width)
                (zeroCount, sum) = (0, 0)
            }
            if index % 10 == 0 && step == times.count / 2 {
                schema -= 1
                counts = [UInt64](repeating: 0, count: width)
                (zeroCount, sum) = (0, 0)
                hint = .yes
            }
            // A scrape's worth of requests, mostly near the middle buckets.
            for _ in 0..<(4 + Int(random.next() % 12)) {
                let bucket = Int((random.next() % UInt64(width) + random.next() % UInt64(width)) / 2)
                counts[bucket] += 1 + random.next() % 3
                sum += Double(bucket) * 0.0125 + Double(random.next() % 1000) / 1e6
            }
            if random.next() % 7 == 0 { zeroCount += 1 }
            var previous: Int64 = 0
            let deltas = counts.map { count -> Int64 in defer { previous = Int64(count) }; return Int64(count) - previous }
            histograms.append(HistogramSample(timestampMs: t, resetHint: hint, schema: schema, zeroThresholdBits: 0x1p-128.bitPattern,
                                              sumBits: sum.bitPattern, positiveSpans: [HistogramSample.Span(offset: first, length: UInt32(width))],
                                              counts: .integer(count: zeroCount + counts.reduce(0, +), zeroCount: zeroCount,
                                                               positiveDeltas: deltas, negativeDeltas: [])))
        }
        return Series(labels: Labels(sorting: [Label("__name__", "http_request_duration_seconds"), Label("job", "api"),
                                               Label("instance", "pod-\(index)"), Label("route", "/r\(index % 40)")]),
                      samples: [], histograms: histograms)
    }
}
