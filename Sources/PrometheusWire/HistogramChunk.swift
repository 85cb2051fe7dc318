/// Prometheus' native-histogram chunks: HISTOGRAM (2), FLOAT_HISTOGRAM (3), and their start-timestamp
/// forms HISTOGRAM_ST (5) and FLOAT_HISTOGRAM_ST (6), as `tsdb/docs/format/chunks.md` and
/// `tsdb/chunkenc/` describe them.
///
/// Header (3 bytes):
/// - 2 and 3: `num_samples` u16 big-endian, then a flags byte whose top two bits are the counter-reset
///   header (`10` reset, `01` no reset, `00` unknown, `11` gauge).
/// - 5 and 6: the counter-reset header in the top two bits of byte 0, `num_samples` in the other 14
///   bits of bytes 0–1, then the start-timestamp header: bit 7 "first start timestamp known", bits
///   0–6 the index of the first sample whose start timestamp differs (0: none does).
///
/// Then, in a bit stream: the layout every sample of the chunk shares (zero threshold, schema,
/// positive and negative spans, and for schema -53 the custom bounds), then the samples. A sample
/// whose sum is the stale NaN is a staleness marker and carries no buckets. For 5 and 6 each sample
/// is followed by its start-timestamp field, when the header says it has one.
public enum HistogramChunk {
    /// Decodes every sample of a chunk of encoding 2, 3, 5 or 6.
    ///
    /// Each sample's reset hint comes from the chunk's header: the first sample gets the header's
    /// (reset → `.yes`, no reset → `.no`, unknown → `.unknown`), every later one `.no`; in a gauge
    /// chunk all get `.gauge`. That is what the chunk records, and what a receiver needs to cut its
    /// chunks where the source did.
    ///
    /// - Throws: `WireError` when the data ends early, a field is out of range, or the layout
    ///   announces more spans, buckets or bounds than the chunk has bits for. A partial chunk is never returned.
    public static func decode(_ data: [UInt8], encoding: Chunk.Encoding) throws -> [HistogramSample] {
        try data.withUnsafeBytes { try decode(raw: $0, encoding: encoding) }
    }

    private static func decode(raw data: UnsafeRawBufferPointer, encoding: Chunk.Encoding) throws -> [HistogramSample] {
        let float: Bool
        let withStartTimestamps: Bool
        switch encoding {
        case .histogram: (float, withStartTimestamps) = (false, false)
        case .floatHistogram: (float, withStartTimestamps) = (true, false)
        case .histogramST: (float, withStartTimestamps) = (false, true)
        case .floatHistogramST: (float, withStartTimestamps) = (true, true)
        default: throw WireError(.unsupported, "encoding \(encoding.rawValue) is not a histogram chunk")
        }
        guard data.count >= 3 else { throw WireError(.truncated, "histogram chunk shorter than its 3-byte header") }
        let count: Int
        let resetHeader: UInt8
        var startTimestamps = StartTimestampDecoder(header: withStartTimestamps ? data[2] : 0)
        if withStartTimestamps {
            count = (Int(data[0]) << 8 | Int(data[1])) & 0x3FFF
            resetHeader = data[0] >> 6
        } else {
            count = Int(data[0]) << 8 | Int(data[1])
            resetHeader = data[2] >> 6
        }
        guard count > 0 else { return [] }
        var reader = BitReader(data, byteOffset: 3)
        let layout = try Layout.read(&reader)
        func samples(_ state: some SampleState) throws -> [HistogramSample] {
            var state = state
            var samples: [HistogramSample] = []
            samples.reserveCapacity(min(count, reader.remaining))
            for index in 0..<count {
                let previousT = state.t
                var sample = try state.next(&reader, index: index, layout: layout)
                if withStartTimestamps {
                    sample.startTimestampMs = try startTimestamps.next(&reader, index: index, t: state.t, previousT: previousT)
                }
                sample.resetHint = hint(resetHeader, index: index)
                samples.append(sample)
            }
            return samples
        }
        return float ? try samples(FloatState(layout: layout)) : try samples(IntegerState(layout: layout))
    }

    static func hint(_ header: UInt8, index: Int) -> HistogramSample.ResetHint {
        switch header {
        case 0b11: .gauge
        case _ where index > 0: .no
        case 0b10: .yes
        case 0b01: .no
        default: .unknown
        }
    }

    /// What every sample of a chunk shares.
    struct Layout {
        var zeroThresholdBits: UInt64
        var schema: Int32
        var positiveSpans: [HistogramSample.Span]
        var negativeSpans: [HistogramSample.Span]
        var customValueBits: [UInt64]
        var positiveBuckets: Int
        var negativeBuckets: Int

        static func read(_ reader: inout BitReader) throws -> Layout {
            let zeroThresholdBits: UInt64
            switch try reader.bits(8) {
            case 0: zeroThresholdBits = 0
            case 255: zeroThresholdBits = try reader.bits(64)
            // A power of two, 2^(byte-244): its biased exponent is byte - 244 + 1023, its fraction 0.
            case let byte: zeroThresholdBits = (byte + 1023 - 244) << 52
            }
            let schemaValue = try reader.varbitInt()
            guard let schema = Int32(exactly: schemaValue) else {
                throw WireError(.malformed, "histogram chunk schema \(schemaValue) is outside the 32-bit range")
            }
            let positiveSpans = try spans(&reader, "positive")
            let negativeSpans = try spans(&reader, "negative")
            var customValueBits: [UInt64] = []
            if schema == HistogramSample.customBucketsSchema {
                let number = try reader.varbitUint()
                // Each bound takes at least one bit.
                guard number <= UInt64(reader.remaining) else {
                    throw WireError(.malformed, "histogram chunk announces \(number) custom bounds in \(reader.remaining) bits")
                }
                for _ in 0..<Int(number) {
                    let encoded = try reader.varbitUint()
                    customValueBits.append(encoded == 0 ? try reader.bits(64) : (Double(encoded - 1) / 1000).bitPattern)
                }
            }
            let positive = HistogramSample.bucketCount(positiveSpans), negative = HistogramSample.bucketCount(negativeSpans)
            // The first sample spends at least one bit on every bucket.
            guard positive <= reader.remaining, negative <= reader.remaining - positive else {
                throw WireError(.malformed, "histogram chunk spans announce \(positive)+\(negative) buckets in \(reader.remaining) bits")
            }
            return Layout(zeroThresholdBits: zeroThresholdBits, schema: schema, positiveSpans: positiveSpans,
                          negativeSpans: negativeSpans, customValueBits: customValueBits, positiveBuckets: positive, negativeBuckets: negative)
        }

        static func spans(_ reader: inout BitReader, _ side: String) throws -> [HistogramSample.Span] {
            let number = try reader.varbitUint()
            // Each span takes at least two bits (a length and an offset of one bit each).
            guard number <= UInt64(reader.remaining / 2) else {
                throw WireError(.malformed, "histogram chunk announces \(number) \(side) spans in \(reader.remaining) bits")
            }
            var spans: [HistogramSample.Span] = []
            spans.reserveCapacity(Int(number))
            for _ in 0..<Int(number) {
                let length = try reader.varbitUint()
                let offset = try reader.varbitInt()
                guard let length32 = UInt32(exactly: length), let offset32 = Int32(exactly: offset) else {
                    throw WireError(.malformed, "histogram chunk \(side) span (offset \(offset), length \(length)) is outside the 32-bit range")
                }
                spans.append(HistogramSample.Span(offset: offset32, length: length32))
            }
            return spans
        }

        func sample(t: Int64, sumBits: UInt64, counts: HistogramSample.Counts) -> HistogramSample {
            HistogramSample(timestampMs: t, schema: schema, zeroThresholdBits: zeroThresholdBits, sumBits: sumBits,
                            positiveSpans: positiveSpans, negativeSpans: negativeSpans, counts: counts, customValueBits: customValueBits)
        }
    }

    /// What the two kinds of histogram chunk keep from one sample to the next.
    protocol SampleState {
        var t: Int64 { get }
        mutating func next(_ reader: inout BitReader, index: Int, layout: Layout) throws -> HistogramSample
    }

    /// The running state of an integer histogram chunk: values, and the deltas their delta-of-deltas add to.
    struct IntegerState: SampleState {
        var t: Int64 = 0, tDelta: Int64 = 0
        var count: UInt64 = 0, countDelta: Int64 = 0
        var zeroCount: UInt64 = 0, zeroCountDelta: Int64 = 0
        var sum = XORValue()
        var positive: [Int64], positiveDelta: [Int64]
        var negative: [Int64], negativeDelta: [Int64]

        init(layout: Layout) {
            positive = Array(repeating: 0, count: layout.positiveBuckets)
            positiveDelta = positive
            negative = Array(repeating: 0, count: layout.negativeBuckets)
            negativeDelta = negative
        }

        mutating func next(_ reader: inout BitReader, index: Int, layout: Layout) throws -> HistogramSample {
            if index == 0 {
                t = try reader.varbitInt()
                count = try reader.varbitUint()
                zeroCount = try reader.varbitUint()
                sum.bits = try reader.bits(64)
                for i in positive.indices { positive[i] = try reader.varbitInt() }
                for i in negative.indices { negative[i] = try reader.varbitInt() }
            } else {
                // The second sample's deltas are delta-of-deltas from zero, so one rule reads both.
                tDelta &+= try reader.varbitInt()
                t &+= tDelta
                countDelta &+= try reader.varbitInt()
                count = UInt64(bitPattern: Int64(bitPattern: count) &+ countDelta)
                zeroCountDelta &+= try reader.varbitInt()
                zeroCount = UInt64(bitPattern: Int64(bitPattern: zeroCount) &+ zeroCountDelta)
                try sum.read(&reader)
                if sum.bits == Sample.staleNaNBits { return .staleMarker(timestampMs: t, float: false) }
                for i in positive.indices {
                    positiveDelta[i] &+= try reader.varbitInt()
                    positive[i] &+= positiveDelta[i]
                }
                for i in negative.indices {
                    negativeDelta[i] &+= try reader.varbitInt()
                    negative[i] &+= negativeDelta[i]
                }
            }
            if sum.bits == Sample.staleNaNBits { return .staleMarker(timestampMs: t, float: false) }
            return layout.sample(t: t, sumBits: sum.bits, counts: .integer(count: count, zeroCount: zeroCount,
                                                                            positiveDeltas: positive, negativeDeltas: negative))
        }
    }

    /// The running state of a float histogram chunk: every field XORs against its own previous value.
    struct FloatState: SampleState {
        var t: Int64 = 0, tDelta: Int64 = 0
        var count = XORValue(), zeroCount = XORValue(), sum = XORValue()
        var positive: [XORValue], negative: [XORValue]

        init(layout: Layout) {
            positive = Array(repeating: XORValue(), count: layout.positiveBuckets)
            negative = Array(repeating: XORValue(), count: layout.negativeBuckets)
        }

        mutating func next(_ reader: inout BitReader, index: Int, layout: Layout) throws -> HistogramSample {
            if index == 0 {
                t = try reader.varbitInt()
                count.bits = try reader.bits(64)
                zeroCount.bits = try reader.bits(64)
                sum.bits = try reader.bits(64)
                for i in positive.indices { positive[i].bits = try reader.bits(64) }
                for i in negative.indices { negative[i].bits = try reader.bits(64) }
            } else {
                tDelta &+= try reader.varbitInt()
                t &+= tDelta
                try count.read(&reader)
                try zeroCount.read(&reader)
                try sum.read(&reader)
                if sum.bits == Sample.staleNaNBits { return .staleMarker(timestampMs: t, float: true) }
                for i in positive.indices { try positive[i].read(&reader) }
                for i in negative.indices { try negative[i].read(&reader) }
            }
            if sum.bits == Sample.staleNaNBits { return .staleMarker(timestampMs: t, float: true) }
            return layout.sample(t: t, sumBits: sum.bits, counts: .float(countBits: count.bits, zeroCountBits: zeroCount.bits,
                                                                          positiveBits: positive.map(\.bits), negativeBits: negative.map(\.bits)))
        }
    }
}

/// A float field that histogram chunks XOR against its previous value (`xorRead` in chunkenc), with
/// its own window of leading and trailing zero bits, both 0 until a sample defines them.
struct XORValue {
    var bits: UInt64 = 0
    var leading: Int = 0
    var trailing: Int = 0

    /// `0`: unchanged; `10`: the XOR in the previous window; `11` + 5 bits leading zeros + 6 bits
    /// significant-bit count (0 meaning 64): the XOR in a new window.
    mutating func read(_ reader: inout BitReader) throws {
        if try reader.bit() == 0 { return }
        if try reader.bit() == 1 { (leading, trailing) = try reader.valueWindow() }
        bits ^= try reader.bits(64 - leading - trailing) << UInt64(trailing)
    }
}

/// The start timestamps of HISTOGRAM_ST and FLOAT_HISTOGRAM_ST chunks (`stDecoder` in chunkenc).
///
/// Sample 0 carries `t - st` as a zigzag varint when the header's bit 7 is set. From the sample the
/// header's low 7 bits name (`changeOn`), each sample carries `previousT - st`: that sample as a
/// `<varbit_int>`, every later one as the delta from the one before. Samples in between keep the
/// previous start timestamp; 0 means none is known.
struct StartTimestampDecoder {
    let firstKnown: Bool
    let changeOn: Int
    var st: Int64 = 0
    var difference: Int64 = 0

    init(header: UInt8) {
        firstKnown = header & 0x80 != 0
        changeOn = Int(header & 0x7F)
    }

    mutating func next(_ reader: inout BitReader, index: Int, t: Int64, previousT: Int64) throws -> Int64 {
        if index == 0 {
            if firstKnown {
                difference = try reader.zigzagVarint()
                st = t &- difference
            }
        } else if changeOn > 0 && index >= changeOn {
            let value = try reader.varbitInt()
            difference = index == changeOn ? value : difference &+ value
            st = previousT &- difference
        }
        return st
    }
}
