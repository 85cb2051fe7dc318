/// `prometheus.Histogram` (prompb/types.proto), as `TimeSeries.histograms` (field 4) carries it in
/// remote-write requests and SAMPLES read responses:
///
///     1 count_int uint64 | 2 count_float double        (a oneof: which one is set makes the kind)
///     3 sum double         4 schema sint32             5 zero_threshold double
///     6 zero_count_int uint64 | 7 zero_count_float double
///     8 negative_spans     9 negative_deltas sint64    10 negative_counts double
///     11 positive_spans    12 positive_deltas sint64   13 positive_counts double
///     14 reset_hint enum   15 timestamp int64          16 custom_values double
///     BucketSpan: 1 offset sint32, 2 length uint32
///
/// Remote write 1.0 has no field for a start timestamp; `encode` leaves it out.
public enum HistogramMessage {
    public static func encode(_ h: HistogramSample, into writer: inout ProtoWriter) {
        switch h.counts {
        case .integer(let count, let zeroCount, _, _):
            // A oneof member is written even when zero: its presence is what says "integer".
            writer.tag(1, .varint); writer.varint(count)
            writer.double(3, bits: h.sumBits)
            writeSchemaAndThreshold(h, &writer)
            writer.tag(6, .varint); writer.varint(zeroCount)
        case .float(let countBits, let zeroCountBits, _, _):
            writer.tag(2, .fixed64); writer.fixed64(countBits)
            writer.double(3, bits: h.sumBits)
            writeSchemaAndThreshold(h, &writer)
            writer.tag(7, .fixed64); writer.fixed64(zeroCountBits)
        }
        for span in h.negativeSpans { writer.message(8) { writeSpan(span, &$0) } }
        switch h.counts {
        case .integer(_, _, _, let negative): packedZigzag(9, negative, &writer)
        case .float(_, _, _, let negative): packedDoubles(10, negative, &writer)
        }
        for span in h.positiveSpans { writer.message(11) { writeSpan(span, &$0) } }
        switch h.counts {
        case .integer(_, _, let positive, _): packedZigzag(12, positive, &writer)
        case .float(_, _, let positive, _): packedDoubles(13, positive, &writer)
        }
        if h.resetHint != .unknown { writer.tag(14, .varint); writer.varint(UInt64(h.resetHint.rawValue)) }
        writer.int64(15, h.timestampMs)
        packedDoubles(16, h.customValueBits, &writer)
    }

    public static func encode(_ h: HistogramSample) -> [UInt8] {
        var writer = ProtoWriter()
        encode(h, into: &writer)
        return writer.bytes
    }

    /// Decodes one message. Packed and unpacked repeated fields are both accepted.
    ///
    /// - Throws: `WireError` for a malformed message, both integer and float fields in one
    ///   histogram, or a reset hint outside 0…3.
    public static func decode(_ r: ProtoReader) throws -> HistogramSample {
        var reader = r
        var countInt: UInt64?, countFloat: UInt64?, zeroInt: UInt64?, zeroFloat: UInt64?
        var sum: UInt64 = 0, schema: Int32 = 0, threshold: UInt64 = 0, hint: UInt64 = 0, timestamp: Int64 = 0
        var positiveSpans: [HistogramSample.Span] = [], negativeSpans: [HistogramSample.Span] = []
        var positiveDeltas: [UInt64] = [], negativeDeltas: [UInt64] = []
        var positiveCounts: [UInt64] = [], negativeCounts: [UInt64] = [], custom: [UInt64] = []
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1: try reader.expect(wire, .varint, "Histogram.count_int"); countInt = try reader.varint()
            case 2: try reader.expect(wire, .fixed64, "Histogram.count_float"); countFloat = try reader.fixed64()
            case 3: try reader.expect(wire, .fixed64, "Histogram.sum"); sum = try reader.fixed64()
            case 4:
                try reader.expect(wire, .varint, "Histogram.schema")
                let value = zigzag(try reader.varint())
                guard let narrow = Int32(exactly: value) else { throw WireError(.malformed, "Histogram.schema \(value) is outside sint32") }
                schema = narrow
            case 5: try reader.expect(wire, .fixed64, "Histogram.zero_threshold"); threshold = try reader.fixed64()
            case 6: try reader.expect(wire, .varint, "Histogram.zero_count_int"); zeroInt = try reader.varint()
            case 7: try reader.expect(wire, .fixed64, "Histogram.zero_count_float"); zeroFloat = try reader.fixed64()
            case 8: try reader.expect(wire, .lengthDelimited, "Histogram.negative_spans"); negativeSpans.append(try span(reader.subReader()))
            case 9: try reader.repeatedVarints(wireType: wire, into: &negativeDeltas)
            case 10: try repeatedDoubles(&reader, wire, into: &negativeCounts, "Histogram.negative_counts")
            case 11: try reader.expect(wire, .lengthDelimited, "Histogram.positive_spans"); positiveSpans.append(try span(reader.subReader()))
            case 12: try reader.repeatedVarints(wireType: wire, into: &positiveDeltas)
            case 13: try repeatedDoubles(&reader, wire, into: &positiveCounts, "Histogram.positive_counts")
            case 14: try reader.expect(wire, .varint, "Histogram.reset_hint"); hint = try reader.varint()
            case 15: try reader.expect(wire, .varint, "Histogram.timestamp"); timestamp = Int64(bitPattern: try reader.varint())
            case 16: try repeatedDoubles(&reader, wire, into: &custom, "Histogram.custom_values")
            default: try reader.skip(wireType: wire)
            }
        }
        guard hint <= 3, let resetHint = HistogramSample.ResetHint(rawValue: UInt8(hint)) else {
            throw WireError(.malformed, "Histogram.reset_hint \(hint) is not one of 0-3")
        }
        let isFloat = countFloat != nil || zeroFloat != nil || !positiveCounts.isEmpty || !negativeCounts.isEmpty
        let isInteger = countInt != nil || zeroInt != nil || !positiveDeltas.isEmpty || !negativeDeltas.isEmpty
        guard !(isFloat && isInteger) else {
            throw WireError(.malformed, "Histogram mixes integer and float counts")
        }
        let counts: HistogramSample.Counts = isFloat
            ? .float(countBits: countFloat ?? 0, zeroCountBits: zeroFloat ?? 0, positiveBits: positiveCounts, negativeBits: negativeCounts)
            : .integer(count: countInt ?? 0, zeroCount: zeroInt ?? 0,
                       positiveDeltas: positiveDeltas.map(zigzag), negativeDeltas: negativeDeltas.map(zigzag))
        return HistogramSample(timestampMs: timestamp, resetHint: resetHint, schema: schema, zeroThresholdBits: threshold, sumBits: sum,
                               positiveSpans: positiveSpans, negativeSpans: negativeSpans, counts: counts, customValueBits: custom)
    }

    private static func writeSchemaAndThreshold(_ h: HistogramSample, _ writer: inout ProtoWriter) {
        if h.schema != 0 { writer.tag(4, .varint); writer.varint(zigzag(Int64(h.schema))) }
        writer.double(5, bits: h.zeroThresholdBits)
    }

    private static func writeSpan(_ span: HistogramSample.Span, _ writer: inout ProtoWriter) {
        if span.offset != 0 { writer.tag(1, .varint); writer.varint(zigzag(Int64(span.offset))) }
        if span.length != 0 { writer.tag(2, .varint); writer.varint(UInt64(span.length)) }
    }

    private static func span(_ r: ProtoReader) throws -> HistogramSample.Span {
        var reader = r
        var result = HistogramSample.Span(offset: 0, length: 0)
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1:
                try reader.expect(wire, .varint, "BucketSpan.offset")
                let value = zigzag(try reader.varint())
                guard let offset = Int32(exactly: value) else { throw WireError(.malformed, "BucketSpan.offset \(value) is outside sint32") }
                result.offset = offset
            case 2:
                try reader.expect(wire, .varint, "BucketSpan.length")
                let value = try reader.varint()
                guard let length = UInt32(exactly: value) else { throw WireError(.malformed, "BucketSpan.length \(value) is outside uint32") }
                result.length = length
            default: try reader.skip(wireType: wire)
            }
        }
        return result
    }

    private static func packedZigzag(_ field: Int, _ values: [Int64], _ writer: inout ProtoWriter) {
        guard !values.isEmpty else { return }
        var inner = ProtoWriter(capacity: values.count * 2)
        for value in values { inner.varint(zigzag(value)) }
        writer.bytesField(field, inner.bytes)
    }

    private static func packedDoubles(_ field: Int, _ bits: [UInt64], _ writer: inout ProtoWriter) {
        guard !bits.isEmpty else { return }
        writer.tag(field, .lengthDelimited)
        writer.varint(UInt64(bits.count * 8))
        for value in bits { writer.fixed64(value) }
    }

    private static func repeatedDoubles(_ reader: inout ProtoReader, _ wire: UInt8, into values: inout [UInt64], _ what: String) throws {
        if wire == WireType.lengthDelimited.rawValue {
            var packed = try reader.subReader()
            while !packed.isAtEnd { values.append(try packed.fixed64()) }
        } else {
            try reader.expect(wire, .fixed64, what)
            values.append(try reader.fixed64())
        }
    }

    static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
    static func zigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1))) }
}
