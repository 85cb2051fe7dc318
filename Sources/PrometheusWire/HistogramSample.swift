/// One native-histogram sample, integer or float, holding every field Prometheus keeps, as bits.
///
/// Floats are kept as IEEE-754 bit patterns (sum, zero threshold, float counts, custom bounds), so
/// that NaN payloads, -0.0 and the staleness marker pass through unchanged. Integer bucket counts
/// stay delta-encoded, as Prometheus stores and sends them: the first bucket's count, then each
/// bucket's difference from the one before, across all spans.
public struct HistogramSample: Hashable, Sendable {
    /// `prometheus.Histogram.ResetHint`, the same numbers as on the wire.
    public enum ResetHint: UInt8, Hashable, Sendable {
        /// The receiver must find out by comparing with the previous sample.
        case unknown = 0
        /// The first sample after a counter reset.
        case yes = 1
        /// No counter reset since the previous sample.
        case no = 2
        /// A gauge histogram: counts may go down.
        case gauge = 3
    }

    /// A run of `length` consecutive buckets, starting `offset` buckets after the previous span's
    /// end (for the first span: at bucket index `offset`).
    public struct Span: Hashable, Sendable {
        public var offset: Int32
        public var length: UInt32

        public init(offset: Int32, length: UInt32) {
            self.offset = offset
            self.length = length
        }
    }

    public enum Counts: Hashable, Sendable {
        /// Integer counts; buckets as deltas (first absolute).
        case integer(count: UInt64, zeroCount: UInt64, positiveDeltas: [Int64], negativeDeltas: [Int64])
        /// Float counts as bit patterns; buckets absolute.
        case float(countBits: UInt64, zeroCountBits: UInt64, positiveBits: [UInt64], negativeBits: [UInt64])

        public var isFloat: Bool {
            if case .float = self { return true }
            return false
        }

        public var positiveBucketCount: Int {
            switch self {
            case .integer(_, _, let positive, _): positive.count
            case .float(_, _, let positive, _): positive.count
            }
        }

        public var negativeBucketCount: Int {
            switch self {
            case .integer(_, _, _, let negative): negative.count
            case .float(_, _, _, let negative): negative.count
            }
        }
    }

    public var timestampMs: Int64
    /// The start (created) timestamp the source recorded for the sample, or 0 when it recorded none.
    public var startTimestampMs: Int64
    public var resetHint: ResetHint
    /// -4…8 exponential, -53 custom bounds (`customValueBits`); other values are kept as they come.
    public var schema: Int32
    public var zeroThresholdBits: UInt64
    public var sumBits: UInt64
    public var positiveSpans: [Span]
    public var negativeSpans: [Span]
    public var counts: Counts
    /// Upper bounds of the custom buckets (schema -53), as bit patterns.
    public var customValueBits: [UInt64]

    public init(timestampMs: Int64, startTimestampMs: Int64 = 0, resetHint: ResetHint = .unknown, schema: Int32,
                zeroThresholdBits: UInt64 = 0, sumBits: UInt64, positiveSpans: [Span] = [], negativeSpans: [Span] = [],
                counts: Counts, customValueBits: [UInt64] = []) {
        self.timestampMs = timestampMs
        self.startTimestampMs = startTimestampMs
        self.resetHint = resetHint
        self.schema = schema
        self.zeroThresholdBits = zeroThresholdBits
        self.sumBits = sumBits
        self.positiveSpans = positiveSpans
        self.negativeSpans = negativeSpans
        self.counts = counts
        self.customValueBits = customValueBits
    }

    /// The custom-bucket schema, whose bounds are listed in `customValueBits`.
    public static let customBucketsSchema: Int32 = -53

    /// Prometheus' staleness marker for a histogram series: the sum is the stale NaN.
    public var isStaleMarker: Bool { sumBits == Sample.staleNaNBits }

    /// A staleness marker as Prometheus' chunk iterators return one: the stale sum and nothing else
    /// but the kind (integer or float) of the chunk it sat in.
    public static func staleMarker(timestampMs: Int64, float: Bool, startTimestampMs: Int64 = 0) -> HistogramSample {
        HistogramSample(timestampMs: timestampMs, startTimestampMs: startTimestampMs, schema: 0, sumBits: Sample.staleNaNBits,
                        counts: float ? .float(countBits: 0, zeroCountBits: 0, positiveBits: [], negativeBits: [])
                                       : .integer(count: 0, zeroCount: 0, positiveDeltas: [], negativeDeltas: []))
    }

    /// Whether the spans describe exactly as many buckets as the counts hold.
    public var spansMatchBuckets: Bool {
        Self.bucketCount(positiveSpans) == counts.positiveBucketCount && Self.bucketCount(negativeSpans) == counts.negativeBucketCount
    }

    /// Memory the sample holds: its fields, and its arrays' elements (each array's header included).
    public var heldBytes: Int {
        MemoryLayout<HistogramSample>.stride + (positiveSpans.count + negativeSpans.count) * MemoryLayout<Span>.stride
            + (counts.positiveBucketCount + counts.negativeBucketCount + customValueBits.count) * 8 + 5 * 32
    }

    /// The sample with every span of length 0 folded into the next span's offset (a trailing one
    /// dropped). The buckets, and so the meaning, stay the same; Prometheus 2.42 panics on the second
    /// sample of a series whose histograms hold a zero-length span, and hangs every later write.
    public var withoutEmptySpans: HistogramSample {
        guard positiveSpans.contains(where: { $0.length == 0 }) || negativeSpans.contains(where: { $0.length == 0 }) else { return self }
        func fold(_ spans: [Span]) -> [Span] {
            var result: [Span] = []
            var carried: Int64 = 0
            for span in spans {
                if span.length == 0 {
                    carried += Int64(span.offset)
                } else {
                    // Offsets stay within int32 in practice; a sum that does not is left unfolded.
                    let offset = Int32(exactly: carried + Int64(span.offset)) ?? span.offset
                    result.append(Span(offset: offset, length: span.length))
                    carried = 0
                }
            }
            return result
        }
        var copy = self
        copy.positiveSpans = fold(positiveSpans)
        copy.negativeSpans = fold(negativeSpans)
        return copy
    }

    /// The number of buckets `spans` describe (saturating, so that hostile lengths cannot trap).
    public static func bucketCount(_ spans: [Span]) -> Int {
        spans.reduce(0) { total, span in
            let (sum, overflow) = total.addingReportingOverflow(Int(span.length))
            return overflow ? Int.max : sum
        }
    }

    /// The sample's meaning as bytes, for comparing what a store returns with what was sent: time,
    /// kind, schema, zero threshold, sum, count, zero count, custom bounds, and every non-empty bucket
    /// by its index with its absolute count (as bits for float histograms). Left out are the two things
    /// a store may change without changing the meaning: where the spans put empty buckets (Prometheus
    /// widens a chunk's earlier samples to its later layout) and the reset hint (Prometheus derives it
    /// again on ingestion, and drops it from a chunk it re-encodes for a read).
    public var canonicalForm: [UInt8] {
        var out: [UInt8] = []
        func put(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
        put(UInt64(bitPattern: timestampMs))
        put(counts.isFloat ? 1 : 0)
        put(UInt64(bitPattern: Int64(schema)))
        put(zeroThresholdBits)
        put(sumBits)
        let absolute = absoluteCounts
        put(absolute.count)
        put(absolute.zeroCount)
        put(UInt64(customValueBits.count))
        customValueBits.forEach(put)
        for entries in [Self.nonEmptyBuckets(positiveSpans, absolute.positive), Self.nonEmptyBuckets(negativeSpans, absolute.negative)] {
            put(UInt64(entries.count))
            for (index, value) in entries { put(UInt64(bitPattern: index)); put(value) }
        }
        return out
    }

    /// Count, zero count and each bucket's own count, in span order: integer counts as numbers (the
    /// bucket deltas summed up, wrapping), float counts as bits.
    public var absoluteCounts: (count: UInt64, zeroCount: UInt64, positive: [UInt64], negative: [UInt64]) {
        switch counts {
        case .integer(let count, let zeroCount, let positive, let negative):
            func absolute(_ deltas: [Int64]) -> [UInt64] {
                var running: Int64 = 0
                return deltas.map { running &+= $0; return UInt64(bitPattern: running) }
            }
            return (count, zeroCount, absolute(positive), absolute(negative))
        case .float(let count, let zeroCount, let positive, let negative):
            return (count, zeroCount, positive, negative)
        }
    }

    /// The buckets of one side that hold anything, each with its index: `spans` laid over `counts`
    /// (absolute, as `absoluteCounts` gives them). +0.0 and integer 0 are both all zero bits.
    public static func nonEmptyBuckets(_ spans: [Span], _ counts: [UInt64]) -> [(index: Int64, count: UInt64)] {
        var index: Int64 = 0
        var position = 0
        var entries: [(index: Int64, count: UInt64)] = []
        for (n, span) in spans.enumerated() {
            index = n == 0 ? Int64(span.offset) : index + Int64(span.offset)
            for _ in 0..<span.length where position < counts.count {
                if counts[position] != 0 { entries.append((index, counts[position])) }
                position += 1
                index += 1
            }
        }
        return entries
    }
}
