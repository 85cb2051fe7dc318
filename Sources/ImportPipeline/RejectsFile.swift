import ArchiveStore
import FoundationEssentials
import PrometheusWire
import Synchronization

/// Samples the target refused, one JSON object per line:
/// `{"series":"up{job=\"x\"}","timestampMs":…,"value":"1.5","valueBits":"3ff8000000000000","status":400,"reason":"…"}`;
/// a refused native histogram adds `"histogram"`, its `prompb.Histogram` in base64 (value and bits are its sum's).
final class RejectsFile: Sendable {
    let path: String
    private let file = Mutex<JournalFile?>(nil)

    init(path: String) {
        self.path = path
    }

    func record(series: Labels, sample: Sample, histogram: HistogramSample? = nil, status: Int, reason: String) throws {
        struct Line: Encodable {
            let series: String
            let timestampMs: Int64
            let value: String
            let valueBits: String
            let histogram: String?
            let status: Int
            let reason: String
        }
        let line = Line(series: series.description, timestampMs: sample.timestampMs, value: "\(sample.value)",
                        valueBits: String(sample.valueBits, radix: 16),
                        histogram: histogram.map { Data(HistogramMessage.encode($0)).base64EncodedString() }, status: status, reason: reason)
        let text = String(decoding: try JSONEncoder.sorted.encode(line), as: UTF8.self)
        try file.withLock { file in
            if file == nil { file = try JournalFile(path: path) }
            try file!.append(text)
        }
    }
}
