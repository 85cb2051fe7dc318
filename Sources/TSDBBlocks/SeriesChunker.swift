import PrometheusWire

/// One chunk of a series, encoded and ready for a segment file.
struct EncodedChunk {
    var minTimeMs: Int64
    var maxTimeMs: Int64
    var encoding: Chunk.Encoding
    var data: [UInt8]
    var samples: Int
}

/// Cuts one series' samples, given in time order in any number of pieces, into chunks as Prometheus'
/// head does: at most `samplesPerChunk` samples, floats (XOR) and native histograms in separate
/// chunks, and a histogram chunk only as long as `HistogramChunkEncoder.canAppend` allows.
///
/// The samples of the chunk still open are held (at most `samplesPerChunk`), so that pieces from
/// consecutive slabs fill chunks as one run would; `flush` cuts it early when memory is short.
struct SeriesChunker {
    static let samplesPerChunk = 120

    enum Open {
        case none
        case floats([Sample])
        case histograms([HistogramSample])
    }

    private(set) var open = Open.none
    private(set) var lastTimeMs = Int64.min

    var heldSamples: Int {
        switch open {
        case .none: 0
        case .floats(let samples): samples.count
        case .histograms(let samples): samples.count
        }
    }

    /// Adds the next piece: its floats and histograms interleave by time, all after everything added
    /// before. `emit` receives each chunk as it is cut.
    mutating func add(floats: ArraySlice<Sample>, histograms: ArraySlice<HistogramSample>, series: Labels,
                      emit: (EncodedChunk) throws -> Void) throws {
        var f = floats.startIndex, h = histograms.startIndex
        while f < floats.endIndex || h < histograms.endIndex {
            let takeFloat = h == histograms.endIndex || (f < floats.endIndex && floats[f].timestampMs < histograms[h].timestampMs)
            let t = takeFloat ? floats[f].timestampMs : histograms[h].timestampMs
            guard t > lastTimeMs else {
                throw TSDBError(.unwritable, "series \(series) has two samples at or out of order around \(t) ms; a block holds "
                    + "one sample per timestamp in time order (run prom-archive verify on the archive)")
            }
            lastTimeMs = t
            if takeFloat {
                try addFloat(floats[f], emit: emit)
                f += 1
            } else {
                let sample = histograms[h]
                guard sample.spansMatchBuckets else {
                    throw TSDBError(.unwritable, "series \(series) has a native histogram at \(t) ms whose spans do not match its "
                        + "bucket counts; the archive is damaged (run prom-archive verify)")
                }
                try addHistogram(sample, emit: emit)
                h += 1
            }
        }
    }

    private mutating func addFloat(_ sample: Sample, emit: (EncodedChunk) throws -> Void) throws {
        if case .floats(var samples) = open {
            open = .none
            samples.append(sample)
            if samples.count >= Self.samplesPerChunk { try emit(Self.encode(samples)) } else { open = .floats(samples) }
            return
        }
        try flush(emit: emit)
        open = .floats([sample])
    }

    private mutating func addHistogram(_ sample: HistogramSample, emit: (EncodedChunk) throws -> Void) throws {
        if case .histograms(var samples) = open, HistogramChunkEncoder.canAppend(sample, first: samples[0], last: samples[samples.count - 1]) {
            open = .none
            samples.append(sample)
            if samples.count >= Self.samplesPerChunk { try emit(Self.encode(samples)) } else { open = .histograms(samples) }
            return
        }
        try flush(emit: emit)
        open = .histograms([sample])
    }

    /// Cuts the open chunk, if any.
    mutating func flush(emit: (EncodedChunk) throws -> Void) throws {
        switch open {
        case .none: return
        case .floats(let samples): try emit(Self.encode(samples))
        case .histograms(let samples): try emit(Self.encode(samples))
        }
        open = .none
    }

    static func encode(_ samples: [Sample]) -> EncodedChunk {
        EncodedChunk(minTimeMs: samples[0].timestampMs, maxTimeMs: samples[samples.count - 1].timestampMs, encoding: .xor,
                     data: XORChunk.encode(samples), samples: samples.count)
    }

    static func encode(_ samples: [HistogramSample]) -> EncodedChunk {
        EncodedChunk(minTimeMs: samples[0].timestampMs, maxTimeMs: samples[samples.count - 1].timestampMs,
                     encoding: HistogramChunkEncoder.encoding(of: samples[0]), data: HistogramChunkEncoder.encode(samples),
                     samples: samples.count)
    }
}
