import PrometheusWire

/// Value_Encoding 3 of `formats/segment-v3.md`: the native-histogram samples of one record, each as a
/// flags byte and its fields, coded the way histograms behave: the layout (schema, zero threshold,
/// spans, custom bounds) only when it changes, integer counts and buckets as differences from the
/// previous sample, float fields XORed with the previous sample's bits. zstd takes it from there.
enum HistogramRecord {
    static let floatFlag: UInt8 = 1 << 0
    static let hintShift: UInt8 = 1
    static let staleFlag: UInt8 = 1 << 3
    static let layoutFlag: UInt8 = 1 << 4
    static let startFlag: UInt8 = 1 << 5

    /// Writers close a block before it holds more histogram samples or more buckets, spans and custom
    /// bounds than these; readers refuse a block that does. They bound a decoded block's memory at
    /// about 40 MiB of samples and 64 MiB of buckets, whatever a hostile payload claims.
    static let maxSamplesPerBlock = 1 << 18
    static let maxElementsPerBlock = 1 << 23

    /// The running state both sides keep: the last layout, and the previous non-stale sample's values.
    struct State {
        var layout: Layout?
        var isFloat = false
        var count: UInt64 = 0, zeroCount: UInt64 = 0, sum: UInt64 = 0
        var buckets: [UInt64] = []

        mutating func restart(float: Bool, bucketCount: Int) {
            if float != isFloat { (count, zeroCount, sum) = (0, 0, 0) }
            isFloat = float
            if buckets.count != bucketCount { buckets = Array(repeating: 0, count: bucketCount) }
        }
    }

    struct Layout: Equatable {
        var schema: Int32
        var zeroThresholdBits: UInt64
        var positiveSpans: [HistogramSample.Span]
        var negativeSpans: [HistogramSample.Span]
        var customValueBits: [UInt64]

        init(_ h: HistogramSample) {
            schema = h.schema
            zeroThresholdBits = h.zeroThresholdBits
            positiveSpans = h.positiveSpans
            negativeSpans = h.negativeSpans
            customValueBits = h.customValueBits
        }

        init(schema: Int32, zeroThresholdBits: UInt64, positiveSpans: [HistogramSample.Span], negativeSpans: [HistogramSample.Span],
             customValueBits: [UInt64]) {
            self.schema = schema
            self.zeroThresholdBits = zeroThresholdBits
            self.positiveSpans = positiveSpans
            self.negativeSpans = negativeSpans
            self.customValueBits = customValueBits
        }

        var elements: Int { positiveSpans.count + negativeSpans.count + customValueBits.count }
    }

    /// Whether `h` is a staleness marker in the one form the Stale flag stands for (nothing but the
    /// kind, the hint and the start timestamp); any other histogram with the stale sum is written whole.
    static func isPlainStaleMarker(_ h: HistogramSample) -> Bool {
        guard h.isStaleMarker else { return false }
        var plain = HistogramSample.staleMarker(timestampMs: h.timestampMs, float: h.counts.isFloat, startTimestampMs: h.startTimestampMs)
        plain.resetHint = h.resetHint
        return h == plain
    }

    /// Buckets, spans and custom bounds `h` holds: what counts against `maxElementsPerBlock`.
    static func elements(_ h: HistogramSample) -> Int {
        h.counts.positiveBucketCount + h.counts.negativeBucketCount + h.positiveSpans.count + h.negativeSpans.count + h.customValueBits.count
    }

    /// Appends the values of `histograms` (timestamps are written by the caller).
    static func encode(_ histograms: ArraySlice<HistogramSample>, to out: inout ProtoWriter) throws {
        var state = State()
        for h in histograms {
            guard h.spansMatchBuckets else {
                throw ArchiveFormatError(.invalidInput, "histogram at \(h.timestampMs): its spans describe "
                    + "\(HistogramSample.bucketCount(h.positiveSpans))+\(HistogramSample.bucketCount(h.negativeSpans)) buckets but it holds "
                    + "\(h.counts.positiveBucketCount)+\(h.counts.negativeBucketCount)")
            }
            let stale = isPlainStaleMarker(h)
            let layout = Layout(h)
            let newLayout = !stale && layout != state.layout
            var flags = (h.counts.isFloat ? floatFlag : 0) | (h.resetHint.rawValue << hintShift)
            if stale { flags |= staleFlag }
            if newLayout { flags |= layoutFlag }
            if h.startTimestampMs != 0 { flags |= startFlag }
            out.bytes.append(flags)
            if h.startTimestampMs != 0 { out.varint(zigzag(h.timestampMs &- h.startTimestampMs)) }
            if stale { continue }
            if newLayout {
                out.varint(zigzag(Int64(h.schema)))
                out.fixed64(h.zeroThresholdBits)
                for spans in [h.positiveSpans, h.negativeSpans] {
                    out.varint(UInt64(spans.count))
                    for span in spans {
                        out.varint(zigzag(Int64(span.offset)))
                        out.varint(UInt64(span.length))
                    }
                }
                out.varint(UInt64(h.customValueBits.count))
                for bits in h.customValueBits { out.fixed64(bits) }
                state.layout = layout
                state.buckets = []
            }
            let bucketCount = h.counts.positiveBucketCount + h.counts.negativeBucketCount
            state.restart(float: h.counts.isFloat, bucketCount: bucketCount)
            out.fixed64(h.sumBits ^ state.sum)
            state.sum = h.sumBits
            switch h.counts {
            case .integer(let count, let zeroCount, let positive, let negative):
                out.varint(zigzag(Int64(bitPattern: count &- state.count)))
                out.varint(zigzag(Int64(bitPattern: zeroCount &- state.zeroCount)))
                (state.count, state.zeroCount) = (count, zeroCount)
                for (i, delta) in (positive + negative).enumerated() {
                    let bits = UInt64(bitPattern: delta)
                    out.varint(zigzag(Int64(bitPattern: bits &- state.buckets[i])))
                    state.buckets[i] = bits
                }
            case .float(let count, let zeroCount, let positive, let negative):
                out.fixed64(count ^ state.count)
                out.fixed64(zeroCount ^ state.zeroCount)
                (state.count, state.zeroCount) = (count, zeroCount)
                for (i, bits) in (positive + negative).enumerated() {
                    out.fixed64(bits ^ state.buckets[i])
                    state.buckets[i] = bits
                }
            }
        }
    }

    /// Decodes the values of `timestamps.count` samples. `budget` is what the block may still hold.
    static func decode(_ reader: inout ProtoReader, timestamps: [Int64], budget: inout (samples: Int, elements: Int)) throws -> [HistogramSample] {
        budget.samples -= timestamps.count
        guard budget.samples >= 0 else {
            throw WireError(.malformed, "the block holds more than \(maxSamplesPerBlock) histogram samples")
        }
        var state = State()
        var histograms: [HistogramSample] = []
        histograms.reserveCapacity(timestamps.count)
        for t in timestamps {
            let flags = try reader.byte()
            guard flags >> 6 == 0 else { throw WireError(.malformed, "histogram flags \(flags) set reserved bits") }
            let isFloat = flags & floatFlag != 0
            let hint = HistogramSample.ResetHint(rawValue: (flags >> hintShift) & 3)!
            let start = flags & startFlag != 0 ? t &- unzigzag(try reader.varint()) : 0
            if flags & staleFlag != 0 {
                guard flags & layoutFlag == 0 else { throw WireError(.malformed, "a staleness marker carries a layout") }
                var marker = HistogramSample.staleMarker(timestampMs: t, float: isFloat, startTimestampMs: start)
                marker.resetHint = hint
                histograms.append(marker)
                continue
            }
            if flags & layoutFlag != 0 {
                state.layout = try readLayout(&reader, budget: &budget)
                state.buckets = []
            }
            guard let layout = state.layout else { throw WireError(.malformed, "a histogram sample before any layout") }
            let positiveCount = HistogramSample.bucketCount(layout.positiveSpans)
            let negativeCount = HistogramSample.bucketCount(layout.negativeSpans)
            // Every bucket takes at least one byte: a layout claiming more than the data holds is refused
            // before anything is allocated for it.
            let bucketCount = positiveCount.addingReportingOverflow(negativeCount)
            guard !bucketCount.overflow, bucketCount.partialValue <= reader.end - reader.index else {
                throw WireError(.malformed, "a layout of \(positiveCount)+\(negativeCount) buckets is larger than the data left")
            }
            budget.elements -= bucketCount.partialValue
            guard budget.elements >= 0 else {
                throw WireError(.malformed, "the block holds more than \(maxElementsPerBlock) histogram buckets, spans and bounds")
            }
            state.restart(float: isFloat, bucketCount: bucketCount.partialValue)
            state.sum ^= try reader.fixed64()
            let counts: HistogramSample.Counts
            if isFloat {
                state.count ^= try reader.fixed64()
                state.zeroCount ^= try reader.fixed64()
                for i in state.buckets.indices { state.buckets[i] ^= try reader.fixed64() }
                counts = .float(countBits: state.count, zeroCountBits: state.zeroCount,
                                positiveBits: Array(state.buckets[..<positiveCount]), negativeBits: Array(state.buckets[positiveCount...]))
            } else {
                state.count &+= UInt64(bitPattern: unzigzag(try reader.varint()))
                state.zeroCount &+= UInt64(bitPattern: unzigzag(try reader.varint()))
                for i in state.buckets.indices { state.buckets[i] &+= UInt64(bitPattern: unzigzag(try reader.varint())) }
                counts = .integer(count: state.count, zeroCount: state.zeroCount,
                                  positiveDeltas: state.buckets[..<positiveCount].map { Int64(bitPattern: $0) },
                                  negativeDeltas: state.buckets[positiveCount...].map { Int64(bitPattern: $0) })
            }
            histograms.append(HistogramSample(timestampMs: t, startTimestampMs: start, resetHint: hint, schema: layout.schema,
                                              zeroThresholdBits: layout.zeroThresholdBits, sumBits: state.sum,
                                              positiveSpans: layout.positiveSpans, negativeSpans: layout.negativeSpans,
                                              counts: counts, customValueBits: layout.customValueBits))
        }
        return histograms
    }

    private static func readLayout(_ reader: inout ProtoReader, budget: inout (samples: Int, elements: Int)) throws -> Layout {
        let schemaValue = unzigzag(try reader.varint())
        guard let schema = Int32(exactly: schemaValue) else { throw WireError(.malformed, "histogram schema \(schemaValue) is outside int32") }
        let threshold = try reader.fixed64()
        var sides: [[HistogramSample.Span]] = []
        for side in ["positive", "negative"] {
            let count = try reader.varint()
            // A span takes at least two bytes.
            guard count <= UInt64((reader.end - reader.index) / 2) else {
                throw WireError(.malformed, "\(count) \(side) spans are more than the data left holds")
            }
            var spans: [HistogramSample.Span] = []
            spans.reserveCapacity(Int(count))
            for _ in 0..<count {
                let offset = unzigzag(try reader.varint())
                let length = try reader.varint()
                guard let offset32 = Int32(exactly: offset), let length32 = UInt32(exactly: length) else {
                    throw WireError(.malformed, "\(side) span (offset \(offset), length \(length)) is outside the 32-bit range")
                }
                spans.append(HistogramSample.Span(offset: offset32, length: length32))
            }
            sides.append(spans)
        }
        let customCount = try reader.varint()
        guard customCount <= UInt64((reader.end - reader.index) / 8) else {
            throw WireError(.malformed, "\(customCount) custom bounds are more than the data left holds")
        }
        var custom: [UInt64] = []
        custom.reserveCapacity(Int(customCount))
        for _ in 0..<customCount { custom.append(try reader.fixed64()) }
        let layout = Layout(schema: schema, zeroThresholdBits: threshold, positiveSpans: sides[0], negativeSpans: sides[1], customValueBits: custom)
        budget.elements -= layout.elements
        guard budget.elements >= 0 else {
            throw WireError(.malformed, "the block holds more than \(maxElementsPerBlock) histogram buckets, spans and bounds")
        }
        return layout
    }
}
