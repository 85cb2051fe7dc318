import PrometheusWire

/// Turns the parts a read response delivers into complete series.
///
/// A streamed reply may split one series over consecutive frames and its chunks may overlap
/// (out-of-order data) or reach outside the query range. The assembler concatenates consecutive parts
/// with equal labels, decodes XOR chunks, keeps only samples in `[startMs, endMs)`, sorts by
/// timestamp and keeps the first sample of any duplicate timestamp.
///
/// Invariant: a series is emitted once; if its labels come back after another series started, that
/// is a protocol violation (Prometheus never does it) and throws.
public struct SeriesAssembler {
    let startMs: Int64
    let endMs: Int64
    private var current: Labels?
    private var samples: [Sample] = []
    private var sorted = true
    private var finished = Set<Fingerprint>()

    /// Samples of the series being assembled, held until it is complete.
    public var bufferedSamples: Int { samples.count }

    public init(startMs: Int64, endMs: Int64) {
        self.startMs = startMs
        self.endMs = endMs
    }

    public mutating func add(chunkedSeries: ChunkedSeries) throws -> Series? {
        let done = try switchTo(chunkedSeries.labels)
        for chunk in chunkedSeries.chunks {
            guard chunk.maxTimeMs >= startMs && chunk.minTimeMs < endMs else { continue }
            switch chunk.encoding {
            case .xor?, .unknown?:
                // The proto requires UNKNOWN to be treated as XOR.
                let first = samples.count
                do {
                    try XORChunk.decode(chunk.data, appendingTo: &samples)
                    keepInRange(from: first)
                } catch let error as WireError {
                    throw RemoteStorageError(.protocolViolation, "series \(chunkedSeries.labels): corrupt XOR chunk: \(error.message)")
                }
            case .histogram?, .floatHistogram?, .histogramST?, .floatHistogramST?:
                throw Self.histogramError(chunkedSeries.labels)
            default:
                throw RemoteStorageError(.protocolViolation,
                    "series \(chunkedSeries.labels): chunk encoding \(chunk.encodingRaw) is not supported; "
                    + "re-run with --response-type samples so the server decodes chunks itself")
            }
        }
        return done
    }

    public mutating func add(samplesSeries: WireTimeSeries) throws -> Series? {
        if samplesSeries.histogramCount > 0 { throw Self.histogramError(samplesSeries.labels) }
        let done = try switchTo(samplesSeries.labels)
        let first = samples.count
        samples += samplesSeries.samples
        keepInRange(from: first)
        return done
    }

    /// The last series, if any.
    public mutating func finish() throws -> Series? {
        try switchTo(nil)
    }

    static func histogramError(_ labels: Labels) -> RemoteStorageError {
        RemoteStorageError(.nativeHistogram,
            "series \(labels) holds native-histogram samples, which this archive format cannot store; "
            + "exclude it, e.g. --match '{__name__!=\"\(labels.metricName ?? "")\"}' alongside your other selectors "
            + "or narrow --match to float series")
    }

    /// Drops the samples from `first` on that lie outside `[startMs, endMs)`, keeping the rest in
    /// order, and notes whether they continue the strictly increasing run before them.
    private mutating func keepInRange(from first: Int) {
        let (startMs, endMs) = (startMs, endMs)
        var stillSorted = sorted
        let kept = samples.withUnsafeMutableBufferPointer { buffer -> Int in
            var last = first > 0 ? buffer[first - 1].timestampMs : Int64.min
            var kept = first
            for i in first..<buffer.count {
                let sample = buffer[i]
                guard sample.timestampMs >= startMs && sample.timestampMs < endMs else { continue }
                if sample.timestampMs <= last { stillSorted = false }
                last = sample.timestampMs
                buffer[kept] = sample
                kept += 1
            }
            return kept
        }
        samples.removeSubrange(kept...)
        sorted = stillSorted
    }

    private mutating func switchTo(_ labels: Labels?) throws -> Series? {
        if labels == current, labels != nil { return nil }
        var done: Series?
        if let current {
            if sorted {
                // Strictly increasing: no duplicates to drop, and the buffer is handed over as it is.
                if !samples.isEmpty { done = Series(labels: current, samples: samples) }
            } else {
                // Stable sort keeps the first of equal timestamps first.
                let indexed = samples.enumerated().sorted {
                    ($0.element.timestampMs, $0.offset) < ($1.element.timestampMs, $1.offset)
                }
                var unique: [Sample] = []
                unique.reserveCapacity(samples.count)
                for (_, sample) in indexed where unique.last?.timestampMs != sample.timestampMs { unique.append(sample) }
                if !unique.isEmpty { done = Series(labels: current, samples: unique) }
            }
            finished.insert(Fingerprint(current))
        }
        if let labels, finished.contains(Fingerprint(labels)) {
            throw RemoteStorageError(.protocolViolation,
                "series \(labels) came back after other series; the server's stream is out of order")
        }
        current = labels
        samples = []
        sorted = true
        return done
    }
}
