public import PrometheusWire

/// Floats and native histograms of every kind over 300 scrapes 30 s apart, for imports into targets
/// that keep no native histograms (`--histograms classic`) and for verifying them.
public enum MixedArchive {
    public static let step: Int64 = 30_000

    public static func histogram(_ t: Int64, _ i: Int) -> HistogramSample {
        // Schema 0, zero threshold 0.001 holding 2, positive buckets 0 and 1 holding 3 + i and 1,
        // negative bucket 1 holding 4: classic le −1 → 4, 0.001 → 6, 1 → 9 + i, 2 → 10 + i, +Inf → 10 + i.
        HistogramSample(timestampMs: t, schema: 0, zeroThresholdBits: Double(0.001).bitPattern, sumBits: (1.5 + Double(i)).bitPattern,
                        positiveSpans: [.init(offset: 0, length: 2)], negativeSpans: [.init(offset: 1, length: 1)],
                        counts: .integer(count: UInt64(10 + i), zeroCount: 2, positiveDeltas: [Int64(3 + i), -Int64(2 + i)], negativeDeltas: [4]))
    }

    /// Floats with the values VictoriaMetrics changes (-0.0, a NaN, 17-digit decimals) and keeps
    /// (staleness markers, ±Inf), and histograms of every kind: integer with negative buckets, float,
    /// custom bounds, a layout change, counts above 2^53, and a staleness marker.
    public static func series(startMs: Int64) -> [Series] {
        let times = (0..<300).map { startMs + Int64($0) * step }
        func labels(_ name: String, _ extra: Label...) -> Labels { Labels(sorting: [Label("__name__", name), Label("job", "api")] + extra) }
        var floats = times.enumerated().map { Sample(timestampMs: $1, value: 0.1234567890123456 * Double($0 + 1)) }
        floats[5] = Sample(timestampMs: times[5], value: -0.0)
        floats[6] = Sample(timestampMs: times[6], value: .infinity)
        floats[7] = Sample(timestampMs: times[7], value: .nan)
        floats[8] = Sample(timestampMs: times[8], valueBits: Sample.staleNaNBits)
        var integer = times.prefix(150).enumerated().map { histogram($1, $0) }
        integer.append(.staleMarker(timestampMs: times[150], float: false))
        let float = times.enumerated().map { i, t in
            HistogramSample(timestampMs: t, schema: 3, sumBits: Double(i).bitPattern,
                            positiveSpans: i < 100 ? [.init(offset: -2, length: 2)] : [.init(offset: -2, length: 1), .init(offset: 3, length: 2)],
                            counts: .float(countBits: (2.5 * Double(i + 1)).bitPattern, zeroCountBits: 0,
                                           positiveBits: i < 100 ? [Double(i).bitPattern, (1.5 * Double(i + 1)).bitPattern]
                                                                 : [Double(i).bitPattern, Double(0.5).bitPattern, Double(1.0).bitPattern],
                                           negativeBits: []))
        }
        let custom = times.enumerated().map { i, t in
            HistogramSample(timestampMs: t, schema: HistogramSample.customBucketsSchema, sumBits: Double(7.25).bitPattern,
                            positiveSpans: [.init(offset: 0, length: 3)],
                            counts: .integer(count: UInt64(i) + 1 << 56, zeroCount: 0, positiveDeltas: [1 << 55, Int64(i) - 1 << 55, 1 << 55 - Int64(i)],
                                             negativeDeltas: []),
                            customValueBits: [Double(0.25).bitPattern, Double(1.0).bitPattern])
        }
        return [
            Series(labels: labels("request_size"), samples: floats),
            Series(labels: labels("rpc_seconds"), samples: [], histograms: integer),
            Series(labels: labels("payload_bytes"), samples: [], histograms: float),
            Series(labels: labels("queue_wait_seconds"), samples: [], histograms: custom),
        ]
    }
}
