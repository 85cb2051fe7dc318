import PrometheusWire
import Testing

@Suite struct XORChunkTests {
    /// The worked example of the reference (§5.4), 5 samples in 26 bytes.
    static let t: Int64 = 1_700_000_000_000
    static let example: [Sample] = [
        Sample(timestampMs: t, value: 10.0), Sample(timestampMs: t + 15000, value: 10.0),
        Sample(timestampMs: t + 30000, value: 11.0), Sample(timestampMs: t + 45001, value: 11.5),
        Sample(timestampMs: t + 60001, value: 11.5),
    ]
    static let exampleBytes: [UInt8] = [0x00, 0x05, 0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62, 0x40, 0x24, 0, 0, 0, 0, 0, 0,
                                        0x98, 0x75, 0x37, 0x03, 0x80, 0x01, 0xde, 0x0e, 0xff, 0xfc]

    @Test func decodesTheWorkedExample() throws {
        #expect(try XORChunk.decode(Self.exampleBytes) == Self.example)
    }

    @Test func encodesTheWorkedExampleByteForByte() {
        #expect(XORChunk.encode(Self.example) == Self.exampleBytes)
    }

    @Test func keepsEveryBitOfSpecialValues() throws {
        let bits: [UInt64] = [Sample.staleNaNBits, 0x7FF8_0000_0000_0001, Double.nan.bitPattern, 0xFFF8_0000_0000_0000,
                              Double.infinity.bitPattern, (-Double.infinity).bitPattern, (-0.0).bitPattern, 0,
                              Double.leastNonzeroMagnitude.bitPattern, Double.greatestFiniteMagnitude.bitPattern,
                              (-1.5).bitPattern, Sample.staleNaNBits, Sample.staleNaNBits]
        var samples: [Sample] = []
        var t: Int64 = -5000
        for (i, b) in bits.enumerated() {
            // Irregular gaps exercise every delta-of-delta bucket, including the 64-bit one.
            t += [1, 15000, 15001, 14000, 200_000, 5_000_000, 1 << 40, 1, 0][i % 9] + 1
            samples.append(Sample(timestampMs: t, valueBits: b))
        }
        #expect(try XORChunk.decode(XORChunk.encode(samples)) == samples)
    }

    @Test func refusesATruncatedChunk() throws {
        #expect(throws: WireError.self) { try XORChunk.decode(Array(Self.exampleBytes.dropLast(3))) }
        #expect(throws: WireError.self) { try XORChunk.decode([0x00]) }
        #expect(try XORChunk.decode([0x00, 0x00]).isEmpty)
    }
}
