import PrometheusWire
import Testing

/// Hand-built chunks of the encodings Prometheus added in 2026, XOR2 (4), HISTOGRAM_ST (5) and
/// FLOAT_HISTOGRAM_ST (6), which no server available here writes.
///
/// Each vector is written field by field from `tsdb/docs/format/chunks.md` (the ST decoder's exact
/// arithmetic is in `tsdb/chunkenc/st.go`): the comment on every line names the field, the value,
/// and how its bits follow from the spec. The expected samples are what those fields mean, worked
/// out by hand in the comments, not taken from the decoder.
@Suite struct ChunkGoldenVectorTests {
    /// Bytes from a string of bit groups; spaces are for reading, the end is padded with zero bits.
    static func bits(_ groups: String...) -> [UInt8] {
        let digits = groups.joined().filter { $0 == "0" || $0 == "1" }
        var bytes: [UInt8] = []
        for (i, digit) in digits.enumerated() {
            if i % 8 == 0 { bytes.append(0) }
            if digit == "1" { bytes[bytes.count - 1] |= 0x80 >> UInt8(i % 8) }
        }
        return bytes
    }

    /// `value`'s low `width` bits, most significant first.
    func b(_ value: UInt64, _ width: Int) -> String {
        String((0..<width).map { (value >> UInt64(width - 1 - $0)) & 1 == 1 ? "1" : "0" })
    }

    func f(_ value: Double) -> String { b(value.bitPattern, 64) }

    /// XOR2, 7 samples, start timestamps known for sample 0 and changing from sample 3.
    @Test func xor2() throws {
        let chunk = Self.bits(
            b(7, 16),                      // num_samples = 7 (u16 big-endian)
            b(0x83, 8),                    // st_header: first_st_known = 1, st_changed_on = 3
            // sample 0: t = 1000 as zigzag varint: 2000 = 0b1111_1010000 → bytes 0xD0 0x0F
            b(0xD0, 8), b(0x0F, 8),
            f(1.0),                        // v0 = 1.0 (0x3FF0000000000000), 64 bits
            // st_0 = 900 stored as t - st = 100, zigzag 200 → varint bytes 0xC8 0x01
            b(0xC8, 8), b(0x01, 8),
            // sample 1: t1 - t0 = 15 as uvarint (0x0F); value unchanged → <varbit_xor2> "0"
            b(15, 8), "0",
            // sample 2: t = 1030, dod 0 and value unchanged → control "0"; no st (2 < st_changed_on)
            "0",
            // sample 3: t = 1045, dod 0, value changed → control "10", then <varbit_xor2_nn>:
            // 1.0 ^ 2.0 = 0x7FF0000000000000: 1 leading zero, 52 trailing, 11 significant bits →
            // "1" new window, leading 00001, sigbits 001011, value 0x7FF
            "10", "1", b(1, 5), b(11, 6), b(0x7FF, 11),
            // st_3: first change (index 3 = st_changed_on): prevT - st = 1030 - 1040 = -10 as <varbit_int>:
            // -31…32 takes "110" + 6 bits, -10 → 64 - 10 = 54 = 110110
            "110", b(54, 6),
            // sample 4: t = 1065, delta 20, dod 5 → control "110" + 13-bit dod; value unchanged "0"
            "110", b(5, 13), "0",
            // st_4: prevT - st = 1045 - 1040 = 5; delta from -10 is 15 → "110" + 001111
            "110", b(15, 6),
            // sample 5: t = 1085 (dod 0), stale NaN → control "11111", no value field
            "11111",
            // st_5: 1065 - 1040 = 25; delta from 5 is 20 → "110" + 010100
            "110", b(20, 6),
            // sample 6: t = 1085 + 20 + 600000 = 601105, dod 600000 beyond 20 bits → "11110" + 64-bit dod;
            // value 3.0: baseline 2.0 (the stale NaN is not a baseline), 2.0 ^ 3.0 = 0x0008000000000000,
            // 12 leading zeros, 51 trailing, 1 significant → "110" new window, 01100, 000001, "1"
            "11110", b(600_000, 64), "110", b(12, 5), b(1, 6), "1",
            // st_6: 1085 - 1040 = 45; delta from 25 is 20 → "110" + 010100
            "110", b(20, 6))
        let decoded = try XOR2Chunk.decode(chunk)
        let stale = Sample.staleNaNBits
        #expect(decoded.samples == [
            Sample(timestampMs: 1000, value: 1.0), Sample(timestampMs: 1015, value: 1.0), Sample(timestampMs: 1030, value: 1.0),
            Sample(timestampMs: 1045, value: 2.0), Sample(timestampMs: 1065, value: 2.0),
            Sample(timestampMs: 1085, valueBits: stale), Sample(timestampMs: 601_105, value: 3.0),
        ])
        #expect(decoded.startTimestampsMs == [900, 900, 900, 1040, 1040, 1040, 1040])
        // Every truncation is an error, never a shorter chunk.
        for length in 0..<chunk.count {
            #expect(throws: WireError.self) { try XOR2Chunk.decode(Array(chunk.prefix(length))) }
        }
    }

    /// HISTOGRAM_ST: a counter-reset chunk of 3 integer samples, the last a staleness marker.
    @Test func histogramST() throws {
        let chunk = Self.bits(
            // counter_reset "10" (reset), num_samples 3 in 14 bits → 0x80 0x03
            "10", b(3, 14),
            b(0x82, 8),                    // st_header: first_st_known, st_changed_on = 2
            // zero_threshold 2^-128 = 0.5 × 2^-127: one byte, -127 + 243 = 116
            b(116, 8),
            "10", b(3, 3),                 // schema 3: <varbit_int> in -3…4 → "10" + 011
            // positive spans: 2 spans → <varbit_uint> "10"+010; (length 2 "10"+010, offset 0 "0");
            // (length 1 "10"+001, offset 3 "10"+011)
            "10", b(2, 3), "10", b(2, 3), "0", "10", b(1, 3), "10", b(3, 3),
            "0",                           // negative spans: none
            // sample 0: t 1000 (fits 12 bits: "11110" + 12), count 12 ("110" + 6), zero count 1 ("10" + 3),
            // sum 12.5 (64 bits), bucket deltas 4, 1, -3 (absolute 4, 5, 2; -3 is 101 in 3 bits)
            "11110", b(1000, 12), "110", b(12, 6), "10", b(1, 3), f(12.5), "10", b(4, 3), "10", b(1, 3), "10", b(0b101, 3),
            // st_0 = 400 as t - st = 600, zigzag 1200 → varint bytes 0xB0 0x09
            b(0xB0, 8), b(0x09, 8),
            // sample 1: t 1060: dod 60 ("1110" + 9 bits); count 16: dod 4 ("10" + 100); zero count dod 0 "0";
            // sum 20.0: 12.5 ^ 20.0 = 0x001D000000000000, 11 leading, 48 trailing, 5 significant →
            // "11" + 01011 + 000101 + 11101; buckets 5, 6, 4 → deltas 5, 1, -2 → dods 1, 0, 1
            "1110", b(60, 9), "10", b(4, 3), "0", "11", b(11, 5), b(5, 6), b(0b11101, 5), "10", b(1, 3), "0", "10", b(1, 3),
            // (no st_1: 1 < st_changed_on)
            // sample 2: t 1120 (dod 0 "0"), count and zero count dods 0, sum the stale NaN:
            // 20.0 ^ 0x7FF0000000000002 = 0x3FC4000000000002, 2 leading, 1 trailing, 61 significant
            "0", "0", "0", "11", b(2, 5), b(61, 6), b(0x3FC4_0000_0000_0002 >> 1, 61),
            // st_2 (index 2 = st_changed_on): prevT - st = 1060 - 1100 = -40, "1110" + 9 bits (512 - 40 = 472)
            "1110", b(472, 9))
        let samples = try HistogramChunk.decode(chunk, encoding: .histogramST)
        let layout = (schema: Int32(3), threshold: 0x37F0_0000_0000_0000 as UInt64,
                      spans: [HistogramSample.Span(offset: 0, length: 2), HistogramSample.Span(offset: 3, length: 1)])
        #expect(samples == [
            HistogramSample(timestampMs: 1000, startTimestampMs: 400, resetHint: .yes, schema: layout.schema,
                            zeroThresholdBits: layout.threshold, sumBits: 12.5.bitPattern, positiveSpans: layout.spans,
                            counts: .integer(count: 12, zeroCount: 1, positiveDeltas: [4, 1, -3], negativeDeltas: [])),
            HistogramSample(timestampMs: 1060, startTimestampMs: 400, resetHint: .no, schema: layout.schema,
                            zeroThresholdBits: layout.threshold, sumBits: 20.0.bitPattern, positiveSpans: layout.spans,
                            counts: .integer(count: 16, zeroCount: 1, positiveDeltas: [5, 1, -2], negativeDeltas: [])),
            { var marker = HistogramSample.staleMarker(timestampMs: 1120, float: false, startTimestampMs: 1100); marker.resetHint = .no; return marker }(),
        ])
        #expect(samples[2].isStaleMarker)
        for length in 0..<chunk.count {
            #expect(throws: WireError.self) { try HistogramChunk.decode(Array(chunk.prefix(length)), encoding: .histogramST) }
        }
    }

    /// FLOAT_HISTOGRAM_ST: a gauge chunk of 2 float samples with custom buckets, a 9-byte zero
    /// threshold and no start timestamps.
    @Test func floatHistogramST() throws {
        let chunk = Self.bits(
            "11", b(2, 14),                // counter_reset "11" (gauge), num_samples 2
            b(0, 8),                       // st_header: nothing known
            b(255, 8), f(0.001),           // zero_threshold 0.001 is no power of two: 255, then 64 bits
            "1110", b(512 - 53, 9),        // schema -53: -255…256 → "1110" + 9 bits two's complement
            // positive spans: 1 span ("10"+001) of length 2 ("10"+010) at offset 0 ("0"); negative: none
            "10", b(1, 3), "10", b(2, 3), "0", "0",
            // custom values: 3 ("10" + 011); 0.5 → 500 + 1 = 501 ("1110" + 9 bits); 2.5 → 2501 ("11110" + 12);
            // 1e9 × 1000 exceeds 33554430 → "0" + the 64 bits of 1e9
            "10", b(3, 3), "1110", b(501, 9), "11110", b(2501, 12), "0", f(1e9),
            // sample 0: t 5000 ("111110" + 18 bits), count 3.5, zero count 0.5, sum 7.25, buckets 1.0 and 2.0
            "111110", b(5000, 18), f(3.5), f(0.5), f(7.25), f(1.0), f(2.0),
            // sample 1: t 15000, dod 10000 ("111110" + 18); each field XORs against its own previous value:
            // count 3.5 → 3.0: 0x0004000000000000, 13 leading, 50 trailing, 1 bit → "11" 01101 000001 "1"
            // zero count unchanged "0"
            // sum 7.25 → 6.0: 0x0005000000000000, 13 leading, 48 trailing, 3 bits → "11" 01101 000011 "101"
            // bucket 0: 1.0 → 0.5: 0x0010000000000000, 11 leading, 52 trailing, 1 bit → "11" 01011 000001 "1"
            // bucket 1 unchanged "0"
            "111110", b(10000, 18), "11", b(13, 5), b(1, 6), "1", "0", "11", b(13, 5), b(3, 6), "101",
            "11", b(11, 5), b(1, 6), "1", "0")
        let samples = try HistogramChunk.decode(chunk, encoding: .floatHistogramST)
        func sample(_ t: Int64, sum: Double, count: Double, buckets: [Double]) -> HistogramSample {
            HistogramSample(timestampMs: t, resetHint: .gauge, schema: -53, zeroThresholdBits: 0.001.bitPattern, sumBits: sum.bitPattern,
                            positiveSpans: [HistogramSample.Span(offset: 0, length: 2)],
                            counts: .float(countBits: count.bitPattern, zeroCountBits: 0.5.bitPattern,
                                           positiveBits: buckets.map(\.bitPattern), negativeBits: []),
                            customValueBits: [0.5, 2.5, 1e9].map(\.bitPattern))
        }
        #expect(samples == [sample(5000, sum: 7.25, count: 3.5, buckets: [1.0, 2.0]), sample(15000, sum: 6.0, count: 3.0, buckets: [0.5, 2.0])])
        for length in 0..<chunk.count {
            #expect(throws: WireError.self) { try HistogramChunk.decode(Array(chunk.prefix(length)), encoding: .floatHistogramST) }
        }
    }

    /// A layout announcing more buckets or spans than the chunk has bits for is refused before any
    /// allocation (a hostile chunk once could ask for 2^64 buckets).
    @Test func hostileLayoutsAreRefusedBeforeAllocating() {
        // HISTOGRAM, 1 sample, zero threshold 0, schema 0, then 2^56 - 1 positive spans.
        let spans = Self.bits(b(1, 16), b(0, 8), b(0, 8), "0", "11111110", b((1 << 56) - 1, 56))
        #expect(throws: WireError.self) { try HistogramChunk.decode(spans, encoding: .histogram) }
        // One span of length 2^32 - 1 at offset 0: more buckets than bits.
        let buckets = Self.bits(b(1, 16), b(0, 8), b(0, 8), "0", "10", b(1, 3), "11111110", b(0xFFFF_FFFF, 56), "0", "0")
        #expect(throws: WireError.self) { try HistogramChunk.decode(buckets, encoding: .histogram) }
    }
}

/// Zero-length spans crash Prometheus 2.42; the importer folds them away without changing a bucket.
@Suite struct EmptySpanTests {
    @Test func foldingKeepsEveryBucketWhereItWas() {
        let spans = [HistogramSample.Span(offset: -2, length: 0), HistogramSample.Span(offset: 3, length: 2),
                     HistogramSample.Span(offset: 1, length: 0), HistogramSample.Span(offset: 4, length: 1),
                     HistogramSample.Span(offset: 7, length: 0)]
        let h = HistogramSample(timestampMs: 1, schema: 0, sumBits: 0, positiveSpans: spans, negativeSpans: [HistogramSample.Span(offset: 5, length: 0)],
                                counts: .integer(count: 6, zeroCount: 0, positiveDeltas: [1, 1, 0], negativeDeltas: []))
        let folded = h.withoutEmptySpans
        #expect(folded.positiveSpans == [HistogramSample.Span(offset: 1, length: 2), HistogramSample.Span(offset: 5, length: 1)])
        #expect(folded.negativeSpans.isEmpty)
        #expect(folded.canonicalForm == h.canonicalForm)
        #expect(folded.withoutEmptySpans == folded)
    }
}
