public import PrometheusWire

/// Turns the parts a read response delivers into complete series.
///
/// A streamed reply may split one series over consecutive frames and its chunks may overlap
/// (out-of-order data) or reach outside the query range. The assembler concatenates consecutive parts
/// with equal labels, decodes every chunk encoding (XOR, XOR2, and the four histogram encodings),
/// keeps only samples in `[startMs, endMs)`, sorts floats and histograms by timestamp and keeps the
/// first of any duplicate timestamp.
///
/// Invariant: a series is emitted once; if its labels come back after another series started, that
/// is a protocol violation (Prometheus never does it) and throws.
public struct SeriesAssembler {
    let startMs: Int64
    let endMs: Int64
    private var current: Labels?
    private var samples: [Sample] = []
    private var samplesSorted = true
    private var histograms: [HistogramSample] = []
    private var histogramsSorted = true
    /// Start timestamps of float samples from XOR2 chunks, by sample timestamp; empty for most series.
    private var startTimestamps: [Int64: Int64] = [:]
    private var histogramBytes = 0
    private var countedHistograms = 0
    private var finished = Set<Fingerprint>()

    /// Samples of the series being assembled, held until it is complete.
    public var bufferedSamples: Int { samples.count + histograms.count }

    /// Memory those samples hold: 16 bytes a float sample, a histogram's fields and buckets.
    public private(set) var bufferedBytes = 0

    public init(startMs: Int64, endMs: Int64) {
        self.startMs = startMs
        self.endMs = endMs
    }

    public mutating func add(chunkedSeries: ChunkedSeries) throws -> Series? {
        let done = try switchTo(chunkedSeries.labels)
        for chunk in chunkedSeries.chunks {
            guard chunk.maxTimeMs >= startMs && chunk.minTimeMs < endMs else { continue }
            do {
                switch chunk.encoding {
                case .xor?, .unknown?:
                    // The proto requires UNKNOWN to be treated as XOR.
                    let first = samples.count
                    try XORChunk.decode(chunk.data, appendingTo: &samples)
                    Self.keepInRange(&samples, from: first, startMs, endMs, sorted: &samplesSorted)
                case .xor2?:
                    let decoded = try XOR2Chunk.decode(chunk.data)
                    // The first sample of a timestamp wins, as for the samples themselves.
                    for (sample, start) in zip(decoded.samples, decoded.startTimestampsMs)
                    where start != 0 && sample.timestampMs >= startMs && sample.timestampMs < endMs {
                        if startTimestamps[sample.timestampMs] == nil { startTimestamps[sample.timestampMs] = start }
                    }
                    let first = samples.count
                    samples += decoded.samples
                    Self.keepInRange(&samples, from: first, startMs, endMs, sorted: &samplesSorted)
                case let encoding? where [.histogram, .floatHistogram, .histogramST, .floatHistogramST].contains(encoding):
                    let first = histograms.count
                    histograms += try HistogramChunk.decode(chunk.data, encoding: encoding)
                    Self.keepInRange(&histograms, from: first, startMs, endMs, sorted: &histogramsSorted)
                default:
                    throw RemoteStorageError(.unstorable,
                        "series \(chunkedSeries.labels): chunk encoding \(chunk.encodingRaw) is unknown to this version; "
                        + "re-run with --response-type samples so the server decodes its chunks itself")
                }
            } catch let error as WireError {
                throw RemoteStorageError(.protocolViolation, "series \(chunkedSeries.labels): corrupt \(chunk.encodingName) chunk: \(error.message)")
            }
        }
        countBytes()
        return done
    }

    public mutating func add(samplesSeries: WireTimeSeries) throws -> Series? {
        let done = try switchTo(samplesSeries.labels)
        let first = samples.count
        samples += samplesSeries.samples
        Self.keepInRange(&samples, from: first, startMs, endMs, sorted: &samplesSorted)
        let firstHistogram = histograms.count
        histograms += samplesSeries.histograms
        Self.keepInRange(&histograms, from: firstHistogram, startMs, endMs, sorted: &histogramsSorted)
        countBytes()
        return done
    }

    private mutating func countBytes() {
        if histograms.count != countedHistograms {
            histogramBytes += histograms[countedHistograms...].reduce(0) { $0 + $1.heldBytes }
            countedHistograms = histograms.count
        }
        bufferedBytes = samples.count * MemoryLayout<Sample>.stride + histogramBytes + startTimestamps.count * 40
    }

    /// The last series, if any.
    public mutating func finish() throws -> Series? {
        try switchTo(nil)
    }

    private static func keepInRange<T: Timestamped>(_ items: inout [T], from first: Int, _ startMs: Int64, _ endMs: Int64, sorted: inout Bool) {
        TimeOrdering.keep(&items, from: first, sorted: &sorted) { $0 >= startMs && $0 < endMs }
    }

    private mutating func switchTo(_ labels: Labels?) throws -> Series? {
        if labels == current, labels != nil { return nil }
        var done: Series?
        if let current {
            var series = Series(labels: current, samples: TimeOrdering.ordered(samples, sorted: samplesSorted),
                                histograms: TimeOrdering.ordered(histograms, sorted: histogramsSorted))
            if !startTimestamps.isEmpty { series.sampleStartTimestampsMs = series.samples.map { startTimestamps[$0.timestampMs] ?? 0 } }
            if !series.samples.isEmpty || !series.histograms.isEmpty { done = series }
            finished.insert(Fingerprint(current))
        }
        if let labels, finished.contains(Fingerprint(labels)) {
            throw RemoteStorageError(.protocolViolation,
                "series \(labels) came back after other series; the server's stream is out of order")
        }
        current = labels
        samples = []
        samplesSorted = true
        histograms = []
        histogramsSorted = true
        startTimestamps = [:]
        histogramBytes = 0
        countedHistograms = 0
        bufferedBytes = 0
        return done
    }
}

extension Chunk {
    /// The encoding's name as Prometheus spells it, for messages.
    var encodingName: String {
        switch encoding {
        case .xor?, .unknown?: "XOR"
        case .histogram?: "histogram"
        case .floatHistogram?: "float histogram"
        case .xor2?: "XOR2"
        case .histogramST?: "histogram ST"
        case .floatHistogramST?: "float histogram ST"
        case nil: "encoding \(encodingRaw)"
        }
    }
}
