/// Writes native-histogram chunks, HISTOGRAM (2) and FLOAT_HISTOGRAM (3), that `HistogramChunk.decode`
/// and Prometheus' iterators read back to the same samples (for the TSDB blocks `prom-archive blocks`
/// writes). Start timestamps have no place in these encodings.
///
/// A chunk holds samples of one kind that share one layout (schema, zero threshold, spans, custom
/// bounds). Its header carries one counter-reset hint for the first sample; every later sample reads
/// back as `.no` (`.gauge` in a gauge chunk), so a sample with any other hint starts a new chunk.
/// A staleness marker carries no buckets after the first sample of a chunk, and nothing may follow it
/// in the same chunk: the chunk's running state stops at the marker's sum.
public enum HistogramChunkEncoder {
    /// Whether `sample` may be appended to a chunk that starts with `first` and ends with `last`.
    public static func canAppend(_ sample: HistogramSample, first: HistogramSample, last: HistogramSample) -> Bool {
        guard !last.isStaleMarker, sample.counts.isFloat == first.counts.isFloat,
              sample.resetHint == (first.resetHint == .gauge ? .gauge : .no) else { return false }
        if sample.isStaleMarker { return true }
        return !first.isStaleMarker && sample.schema == first.schema && sample.zeroThresholdBits == first.zeroThresholdBits
            && sample.positiveSpans == first.positiveSpans && sample.negativeSpans == first.negativeSpans
            && sample.customValueBits == first.customValueBits
    }

    /// The chunk encoding `samples` get: 3 for float counts, else 2.
    public static func encoding(of first: HistogramSample) -> Chunk.Encoding {
        first.counts.isFloat ? .floatHistogram : .histogram
    }

    /// Encodes samples that `canAppend` accepts one after the other (at most 65535, time-ordered,
    /// each one's spans matching its bucket counts).
    public static func encode(_ samples: [HistogramSample]) -> [UInt8] {
        precondition(!samples.isEmpty && samples.count <= 65535, "a histogram chunk holds 1...65535 samples")
        let first = samples[0]
        let header: UInt8 = switch first.resetHint {
        case .yes: 0b10
        case .no: 0b01
        case .gauge: 0b11
        case .unknown: 0b00
        }
        var writer = BitWriter()
        writer.bytes = [UInt8(samples.count >> 8), UInt8(samples.count & 0xff), header << 6]
        writeLayout(first, &writer)
        if first.counts.isFloat {
            var state = FloatWriterState()
            for (index, sample) in samples.enumerated() { state.write(sample, index: index, &writer) }
        } else {
            var state = IntegerWriterState()
            for (index, sample) in samples.enumerated() { state.write(sample, index: index, &writer) }
        }
        return writer.bytes
    }

    static func writeLayout(_ sample: HistogramSample, _ writer: inout BitWriter) {
        writeZeroThreshold(sample.zeroThresholdBits, &writer)
        writer.varbitInt(Int64(sample.schema))
        for spans in [sample.positiveSpans, sample.negativeSpans] {
            writer.varbitUint(UInt64(spans.count))
            for span in spans {
                writer.varbitUint(UInt64(span.length))
                writer.varbitInt(Int64(span.offset))
            }
        }
        if sample.schema == HistogramSample.customBucketsSchema {
            writer.varbitUint(UInt64(sample.customValueBits.count))
            // The long form (0, then the 64 bits) holds every bound exactly.
            for bits in sample.customValueBits {
                writer.varbitUint(0)
                writer.write(bits, 64)
            }
        }
    }

    /// 0 for zero; one byte `k + 244` for the powers of two 2^k, k in -243...9 (Prometheus' short form);
    /// else 255 and the 64 bits.
    static func writeZeroThreshold(_ bits: UInt64, _ writer: inout BitWriter) {
        if bits == 0 { writer.write(0, 8); return }
        let exponent = Int((bits >> 52) & 0x7FF) - 1023
        if bits >> 63 == 0, bits & ((1 << 52) - 1) == 0, (-243...9).contains(exponent) {
            writer.write(UInt64(exponent + 244), 8)
        } else {
            writer.write(255, 8)
            writer.write(bits, 64)
        }
    }

    /// A float field XORed against its previous value, each field with its own window (`xorWrite`).
    struct XORField {
        var bits: UInt64 = 0
        var leading: UInt8 = 0xff
        var trailing: UInt8 = 0

        mutating func write(_ value: UInt64, _ writer: inout BitWriter) {
            XORChunk.writeValue(&writer, value ^ bits, &leading, &trailing)
            bits = value
        }
    }

    struct IntegerWriterState {
        var t: Int64 = 0, tDelta: Int64 = 0
        var count: Int64 = 0, countDelta: Int64 = 0
        var zeroCount: Int64 = 0, zeroCountDelta: Int64 = 0
        var sum = XORField()
        var positive: [Int64] = [], positiveDelta: [Int64] = []
        var negative: [Int64] = [], negativeDelta: [Int64] = []

        mutating func write(_ sample: HistogramSample, index: Int, _ writer: inout BitWriter) {
            guard case .integer(let sampleCount, let sampleZero, let sampleP, let sampleN) = sample.counts else {
                preconditionFailure("a float histogram in an integer histogram chunk")
            }
            if index == 0 {
                writer.varbitInt(sample.timestampMs)
                writer.varbitUint(sampleCount)
                writer.varbitUint(sampleZero)
                writer.write(sample.sumBits, 64)
                sum.bits = sample.sumBits
                for value in sampleP + sampleN { writer.varbitInt(value) }
                (t, count, zeroCount) = (sample.timestampMs, Int64(bitPattern: sampleCount), Int64(bitPattern: sampleZero))
                (positive, negative) = (sampleP, sampleN)
                positiveDelta = Array(repeating: 0, count: sampleP.count)
                negativeDelta = Array(repeating: 0, count: sampleN.count)
                return
            }
            let newTDelta = sample.timestampMs &- t
            writer.varbitInt(newTDelta &- tDelta)
            (t, tDelta) = (sample.timestampMs, newTDelta)
            if sample.isStaleMarker {
                // Nothing follows a marker in its chunk: the counts' state need not advance.
                writer.varbitInt(0)
                writer.varbitInt(0)
                sum.write(sample.sumBits, &writer)
                return
            }
            let newCountDelta = Int64(bitPattern: sampleCount) &- count
            writer.varbitInt(newCountDelta &- countDelta)
            (count, countDelta) = (Int64(bitPattern: sampleCount), newCountDelta)
            let newZeroDelta = Int64(bitPattern: sampleZero) &- zeroCount
            writer.varbitInt(newZeroDelta &- zeroCountDelta)
            (zeroCount, zeroCountDelta) = (Int64(bitPattern: sampleZero), newZeroDelta)
            sum.write(sample.sumBits, &writer)
            func buckets(_ values: [Int64], _ previous: inout [Int64], _ deltas: inout [Int64]) {
                for i in values.indices {
                    let delta = values[i] &- previous[i]
                    writer.varbitInt(delta &- deltas[i])
                    deltas[i] = delta
                    previous[i] = values[i]
                }
            }
            buckets(sampleP, &positive, &positiveDelta)
            buckets(sampleN, &negative, &negativeDelta)
        }
    }

    struct FloatWriterState {
        var t: Int64 = 0, tDelta: Int64 = 0
        var count = XORField(), zeroCount = XORField(), sum = XORField()
        var positive: [XORField] = [], negative: [XORField] = []

        mutating func write(_ sample: HistogramSample, index: Int, _ writer: inout BitWriter) {
            guard case .float(let sampleCount, let sampleZero, let sampleP, let sampleN) = sample.counts else {
                preconditionFailure("an integer histogram in a float histogram chunk")
            }
            if index == 0 {
                writer.varbitInt(sample.timestampMs)
                for bits in [sampleCount, sampleZero, sample.sumBits] + sampleP + sampleN { writer.write(bits, 64) }
                (t, count.bits, zeroCount.bits, sum.bits) = (sample.timestampMs, sampleCount, sampleZero, sample.sumBits)
                positive = sampleP.map { XORField(bits: $0) }
                negative = sampleN.map { XORField(bits: $0) }
                return
            }
            let newTDelta = sample.timestampMs &- t
            writer.varbitInt(newTDelta &- tDelta)
            (t, tDelta) = (sample.timestampMs, newTDelta)
            count.write(sampleCount, &writer)
            zeroCount.write(sampleZero, &writer)
            sum.write(sample.sumBits, &writer)
            if sample.isStaleMarker { return }
            for i in sampleP.indices { positive[i].write(sampleP[i], &writer) }
            for i in sampleN.indices { negative[i].write(sampleN[i], &writer) }
        }
    }
}
