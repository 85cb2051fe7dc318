import BlockCompression
import Foundation
public import PrometheusWire

/// Reproducible metric history for tests, benchmarks and the demo.
///
/// Series are a mix of what real exporters produce: counters with 2-4 decimals, gauges that go
/// negative, histogram bucket series (`le` labels), label values with unicode, quotes, backslashes
/// and newlines, and the special values NaN, +Inf and -Inf. Values are chosen from the seed and the
/// series/sample index only, so the same arguments give the same data on every machine.
public struct SampleHistory: Sendable {
    public let seriesCount: Int
    public let startMs: Int64
    public let endMs: Int64
    public let intervalMs: Int64
    public let seed: UInt64

    public init(seriesCount: Int, startMs: Int64, endMs: Int64, intervalMs: Int64 = 15_000, seed: UInt64 = 42) {
        self.seriesCount = seriesCount
        self.startMs = startMs
        self.endMs = endMs
        self.intervalMs = intervalMs
        self.seed = seed
    }

    /// Every series, in generation order. Samples are in `[startMs, endMs)`.
    public func series() -> [Series] {
        (0..<seriesCount).map { makeSeries($0) }
    }

    public var sampleCount: Int { series().reduce(0) { $0 + $1.samples.count } }

    func labels(_ index: Int) -> Labels {
        let instance = "10.\(index / 250 % 250).\(index % 250).\(index % 7):\(9100 + index % 3)"
        switch index % 5 {
        case 0:
            return Labels(sorting: [Label("__name__", "http_requests_total"), Label("job", "api"),
                                    Label("instance", instance), Label("code", ["200", "404", "500"][index / 5 % 3])])
        case 1:
            return Labels(sorting: [Label("__name__", "node_temperature_celsius"), Label("job", "node"),
                                    Label("instance", instance), Label("sensor", "zone\(index % 4)")])
        case 2:
            let le = ["0.1", "0.5", "1", "+Inf"][index / 5 % 4]
            return Labels(sorting: [Label("__name__", "http_request_duration_seconds_bucket"), Label("job", "api"),
                                    Label("instance", instance), Label("le", le)])
        case 3:
            let exotic = ["café ☕ \(index)", "quote \" and \\ backslash \(index)", "line\nbreak \(index)", "日本語 \(index)"][index / 5 % 4]
            return Labels(sorting: [Label("__name__", "app_info_value"), Label("job", "app"),
                                    Label("instance", instance), Label("detail", exotic)])
        default:
            return Labels(sorting: [Label("__name__", "process_cpu_seconds_total"), Label("job", "node"),
                                    Label("instance", instance)])
        }
    }

    func makeSeries(_ index: Int) -> Series {
        // Each series' stream starts at a hashed state. (Seeding with `seed + index × step` would make
        // series i+1 replay series i one sample late, which compressors find: archives came out 4 times
        // smaller than honest data allows.)
        var seeder = SplitMix(seed: seed ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
        var random = SplitMix(seed: seeder.next())
        var samples: [Sample] = []
        // Real scrapes jitter by a few milliseconds; keep that, deterministically.
        let offset = Int64(random.next() % UInt64(intervalMs))
        var t = startMs + offset
        var counter = Double(random.next() % 10_000) / 100
        var n = 0
        while t < endMs {
            let value: Double
            switch index % 5 {
            case 0, 2, 4:
                counter += Double(random.next() % 500) / 100  // 2 decimals
                value = index % 5 == 4 ? (counter / 7).rounded(toPlaces: 4) : counter.rounded(toPlaces: 2)
            case 1:
                value = (Double(Int64(random.next() % 8000) - 2000) / 100)  // -20.00 … 59.99
            default:
                switch n % 97 {
                // Prometheus parses "NaN" into Go's math.NaN(), whose bits are 0x7ff8000000000001.
                case 13: value = Double(bitPattern: 0x7FF8_0000_0000_0001)
                case 41: value = -0.0
                case 29: value = .infinity
                case 31: value = -.infinity
                default: value = Double(Int64(random.next() % 2_000_001) - 1_000_000) / 1000
                }
            }
            samples.append(Sample(timestampMs: t, value: value))
            t += intervalMs + Int64(random.next() % 5) - 2
            n += 1
        }
        return Series(labels: labels(index), samples: samples)
    }

    /// Writes the history as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`.
    public func writeOpenMetrics(to path: String) throws {
        try OpenMetricsFile.write(series(), to: path)
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = [1.0, 10, 100, 1000, 10000][places]
        return (self * scale).rounded() / scale
    }
}

/// A small deterministic generator (SplitMix64), so that tests and benchmarks can print and replay a seed.
public struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
