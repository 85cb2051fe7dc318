import PeerHarness
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

    /// Scrape-shaped series (kept values, small changes inside the last window, new windows, late
    /// scrapes), each chunk decoded alone, from inside a larger buffer, and cut short at every length.
    @Test func roundTripsScrapeShapedChunksFromAnyBuffer() throws {
        var random = SplitMix(seed: 7)
        for chunk in 0..<300 {
            var samples: [Sample] = []
            var t: Int64 = 1_700_000_000_000 + Int64(chunk)
            var value = Double(random.next() % 1000)
            for _ in 0..<(1 + Int(random.next() % 120)) {
                t += 15_000 + (random.next() % 30 == 0 ? Int64(random.next() % 5) + 1 : 0)
                switch random.next() % 6 {
                case 0, 1: break
                case 2: value += 1
                case 3: value += Double(random.next() % 4096)
                case 4: value = Double(random.next() % 1_000_000) / 1000
                default: value = Double(bitPattern: random.next())
                }
                samples.append(Sample(timestampMs: t, valueBits: value.bitPattern))
            }
            let bytes = XORChunk.encode(samples)
            #expect(try XORChunk.decode(bytes) == samples)
            let padded = [0xAA, 0x55] + bytes + [0xFF, 0xFF, 0xFF]
            var fromSlice: [Sample] = []
            try XORChunk.decode(padded[2..<(2 + bytes.count)], appendingTo: &fromSlice)
            #expect(fromSlice == samples)
            if chunk < 20 {
                for length in 0..<bytes.count where samples.count > 1 {
                    #expect(throws: WireError.self) { try XORChunk.decode(Array(bytes[..<length])) }
                }
            }
        }
    }

    @Test func refusesAValueWindowUsedBeforeItIsDefined() {
        // Three samples: t 0 and value 0; t 1 with the value kept (`0`); then `0` (same interval) and
        // `10` (XOR inside the previous window), when no window was ever defined.
        let bytes: [UInt8] = [0x00, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0b0010_0000]
        #expect(throws: WireError.self) { try XORChunk.decode(bytes) }
    }

    @Test func refusesATruncatedChunk() throws {
        #expect(throws: WireError.self) { try XORChunk.decode(Array(Self.exampleBytes.dropLast(3))) }
        #expect(throws: WireError.self) { try XORChunk.decode([0x00]) }
        #expect(try XORChunk.decode([0x00, 0x00]).isEmpty)
    }
}

