/// Native histograms written as classic histogram series (`--histograms classic`), for targets and
/// formats that cannot hold native ones.
///
/// A native histogram `name{…}` becomes, at its own timestamp:
/// - `name_bucket{…, le="B"}` for the upper edge B of every bucket its spans describe (empty ones
///   included) and of its zero bucket (exponential schemas: edge = zero threshold), holding the
///   cumulative count of every bucket whose upper edge is ≤ B; negative bucket `i` has the upper edge
///   −b(i−1), positive bucket `i` the edge b(i) (`NativeBucketBounds`). Edges are written as
///   Prometheus writes `le` (`OpenMetricsText.labelFloat`);
/// - `name_bucket{…, le="+Inf"}` and `name_count` holding the count, `name_sum` the sum (its bits).
///
/// Counts keep their values: integer counts are summed as 64-bit integers and then become doubles
/// (exact up to 2^53), float counts are summed as doubles. The name stays `_count`/`_sum` for gauge
/// histograms too: remote read loses the gauge flag of a series' newest chunk, and a series must not
/// change names halfway. A staleness marker becomes a staleness marker on `_count`, `_sum`,
/// `le="+Inf"` and every `le` of the series' previous histogram in the same piece of work.
public struct ClassicHistograms {
    /// A histogram that has no classic form.
    public struct Unconvertible: Error, CustomStringConvertible {
        public let description: String
    }

    let labels: Labels
    let base: [Label]
    let name: [UInt8]
    /// The `le` values of the previous non-stale histogram, for its staleness marker.
    var previousEdges: [(key: String, edge: Double)] = []
    /// `le` text by edge bits: a series' histograms share their edges, and each text takes up to 17
    /// formatting attempts (`OpenMetricsText.labelFloat`).
    var leTexts: [UInt64: String] = [:]

    public init(labels: Labels) {
        self.labels = labels
        base = labels.labels.filter { $0.name != Self.metricNameLabel && $0.name != Self.leLabel }
        name = labels.labels.first { $0.name == Self.metricNameLabel }?.value ?? []
    }

    static let metricNameLabel = Array("__name__".utf8)
    static let leLabel = Array("le".utf8)

    /// The classic samples a histogram of `buckets` buckets turns into: one per bucket, the zero bucket,
    /// `+Inf`, `_count` and `_sum`.
    public static func samplesPerHistogram(_ histogram: HistogramSample) -> Int {
        histogram.counts.positiveBucketCount + histogram.counts.negativeBucketCount + 4
    }

    /// The classic series for `histograms` (in time order), each in time order: buckets by edge, then
    /// `+Inf`, `_count` and `_sum`.
    public mutating func convert(_ histograms: ArraySlice<HistogramSample>) throws(Unconvertible) -> [Series] {
        var buckets: [String: (edge: Double, samples: [Sample])] = [:]
        var count: [Sample] = [], sum: [Sample] = []
        func add(_ key: String, _ edge: Double, _ sample: Sample) { buckets[key, default: (edge, [])].samples.append(sample) }
        for h in histograms {
            if h.isStaleMarker {
                let marker = Sample(timestampMs: h.timestampMs, valueBits: Sample.staleNaNBits)
                for (key, edge) in previousEdges { add(key, edge, marker) }
                add("+Inf", .infinity, marker)
                count.append(marker)
                sum.append(marker)
                continue
            }
            let edges = try cumulativeBuckets(h)
            previousEdges = []
            for (edge, valueBits) in edges {
                let key = leTexts[edge.bitPattern] ?? {
                    let text = OpenMetricsText.labelFloat(edge)
                    leTexts[edge.bitPattern] = text
                    return text
                }()
                add(key, edge, Sample(timestampMs: h.timestampMs, valueBits: valueBits))
                previousEdges.append((key, edge))
            }
            let total = h.absoluteCounts.count
            let countBits = h.counts.isFloat ? total : Double(total).bitPattern
            add("+Inf", .infinity, Sample(timestampMs: h.timestampMs, valueBits: countBits))
            count.append(Sample(timestampMs: h.timestampMs, valueBits: countBits))
            sum.append(Sample(timestampMs: h.timestampMs, valueBits: h.sumBits))
        }
        func series(_ suffix: String, le: String? = nil, _ samples: [Sample]) -> Series {
            var all = base + [Label(name: Self.metricNameLabel, value: name + Array(suffix.utf8))]
            if let le { all.append(Label(name: Self.leLabel, value: Array(le.utf8))) }
            return Series(labels: Labels(sorting: all), samples: samples)
        }
        let ordered = buckets.filter { $0.key != "+Inf" }.sorted { $0.value.edge < $1.value.edge }
        var result = ordered.map { series("_bucket", le: $0.key, $0.value.samples) }
        if let infinite = buckets["+Inf"] { result.append(series("_bucket", le: "+Inf", infinite.samples)) }
        if !count.isEmpty {
            result.append(series("_count", count))
            result.append(series("_sum", sum))
        }
        return result
    }

    /// Every finite bucket edge of `h` with the cumulative count up to it, as a double's bits, by edge.
    func cumulativeBuckets(_ h: HistogramSample) throws(Unconvertible) -> [(edge: Double, valueBits: UInt64)] {
        func refuse(_ why: String) -> Unconvertible {
            Unconvertible(description: "series \(labels): the native histogram at \(TimestampText.rfc3339(h.timestampMs)) \(why), "
                + "so it has no classic form; use --histograms keep (into a Prometheus started with "
                + "--enable-feature=native-histograms) or --histograms drop")
        }
        let isFloat = h.counts.isFloat
        let custom = h.schema == HistogramSample.customBucketsSchema
        let customValues = h.customValueBits.map { Double(bitPattern: $0) }
        if custom, zip(customValues, customValues.dropFirst()).contains(where: { !($0 < $1) }) || customValues.contains(where: \.isNaN) {
            throw refuse("has custom bounds that are not strictly increasing")
        }
        let absolute = h.absoluteCounts
        // Each bucket's own count: integers as numbers, floats as bits.
        var entries: [(edge: Double, own: UInt64)] = []
        entries.reserveCapacity(absolute.positive.count + absolute.negative.count + 1)
        func walk(_ spans: [HistogramSample.Span], _ counts: [UInt64], negative: Bool) throws(Unconvertible) {
            var index: Int64 = 0
            var position = 0
            for (n, span) in spans.enumerated() {
                index = n == 0 ? Int64(span.offset) : index + Int64(span.offset)
                for _ in 0..<span.length where position < counts.count {
                    do {
                        let edge = negative ? -(try NativeBucketBounds.upperBound(index: index - 1, schema: h.schema, customValues: customValues))
                                            : try NativeBucketBounds.upperBound(index: index, schema: h.schema, customValues: customValues)
                        entries.append((edge, counts[position]))
                    } catch {
                        switch error {
                        case .unknownSchema(let schema):
                            throw refuse("has schema \(schema), whose bucket bounds this version does not know")
                        case .beyondCustomValues(let index, let count):
                            throw refuse("has a bucket (\(index)) beyond its \(count) custom bounds")
                        }
                    }
                    position += 1
                    index += 1
                }
            }
        }
        if custom && !h.negativeSpans.isEmpty { throw refuse("has negative buckets under the custom-bucket schema") }
        try walk(h.negativeSpans, absolute.negative, negative: true)
        try walk(h.positiveSpans, absolute.positive, negative: false)
        if !custom {
            let threshold = Double(bitPattern: h.zeroThresholdBits)
            guard threshold >= 0 else { throw refuse("has a zero threshold of \(threshold)") }
            entries.append((threshold, absolute.zeroCount))
        }
        entries.sort { $0.edge < $1.edge }
        var result: [(edge: Double, valueBits: UInt64)] = []
        var integerTotal: UInt64 = 0
        var floatTotal = 0.0
        for entry in entries {
            if isFloat { floatTotal += Double(bitPattern: entry.own) } else { integerTotal &+= entry.own }
            let bits = isFloat ? floatTotal.bitPattern : Double(integerTotal).bitPattern
            // The +Inf bucket is written from the count; equal edges share one `le`.
            guard entry.edge < .infinity else { continue }
            if result.last?.edge == entry.edge { result[result.count - 1].valueBits = bits } else { result.append((entry.edge, bits)) }
        }
        return result
    }
}
