/// Prometheus' XOR float chunk (Gorilla), as in prometheus/tsdb/chunkenc/xor.go.
///
/// Layout: `num_samples` u16 big-endian, then an MSB-first bit stream: t0 zigzag varint, v0 64 bits;
/// t1−t0 uvarint, value-XOR block; then per sample a delta-of-delta bucket and a value-XOR block.
public enum XORChunk {
    /// Decodes every sample of a chunk.
    ///
    /// - Throws: `WireError` when the data ends before `num_samples` samples were read. A partial
    ///   chunk is never returned.
    public static func decode(_ data: [UInt8]) throws -> [Sample] {
        var samples: [Sample] = []
        try decode(data, appendingTo: &samples)
        return samples
    }

    /// Decodes every sample of a chunk and appends them, in order, to `samples` (the export's hot path:
    /// no call per sample across modules).
    ///
    /// - Throws: `WireError` as `decode(_:)`; `samples` may then end with part of the chunk, which the
    ///   caller must discard.
    public static func decode(_ data: [UInt8], appendingTo samples: inout [Sample]) throws {
        try data.withUnsafeBytes { try decode(raw: $0, appendingTo: &samples) }
    }

    /// As `decode(_:appendingTo:)`, for a chunk read into a larger buffer (a block's chunk file window).
    public static func decode(_ data: ArraySlice<UInt8>, appendingTo samples: inout [Sample]) throws {
        try data.withUnsafeBytes { try decode(raw: $0, appendingTo: &samples) }
    }

    private static func decode(raw data: UnsafeRawBufferPointer, appendingTo samples: inout [Sample]) throws {
        guard data.count >= 2 else { throw WireError(.truncated, "XOR chunk shorter than its 2-byte header") }
        let count = Int(data[0]) << 8 | Int(data[1])
        if count == 0 { return }
        var reader = BitReader(data, byteOffset: 2)
        var t = zigzagDecode(try reader.byteVarint())
        var v = try reader.bits(64)
        samples.append(Sample(timestampMs: t, valueBits: v))
        if count == 1 { return }
        var delta = Int64(bitPattern: try reader.byteVarint())
        t &+= delta
        var leading: UInt8 = 0xff
        var trailing: UInt8 = 0
        v = try readValue(&reader, v, &leading, &trailing)
        samples.append(Sample(timestampMs: t, valueBits: v))
        for _ in 2..<count {
            var prefix = 0
            while prefix < 4 {
                if try reader.bit() == 0 { break }
                prefix += 1
            }
            let dod: Int64
            switch prefix {
            case 0: dod = 0
            case 1: dod = try signed(reader.bits(14), 14)
            case 2: dod = try signed(reader.bits(17), 17)
            case 3: dod = try signed(reader.bits(20), 20)
            default: dod = Int64(bitPattern: try reader.bits(64))
            }
            delta &+= dod
            t &+= delta
            v = try readValue(&reader, v, &leading, &trailing)
            samples.append(Sample(timestampMs: t, valueBits: v))
        }
    }

    @inline(__always)
    private static func signed(_ u: UInt64, _ n: Int) -> Int64 {
        u > (1 << (n - 1)) ? Int64(u) - (1 << n) : Int64(u)
    }

    @inline(__always)
    private static func zigzagDecode(_ u: UInt64) -> Int64 {
        Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    @inline(__always)
    private static func readValue(_ reader: inout BitReader, _ previous: UInt64,
                                  _ leading: inout UInt8, _ trailing: inout UInt8) throws -> UInt64 {
        if try reader.bit() == 0 { return previous }
        if try reader.bit() == 1 {
            leading = UInt8(try reader.bits(5))
            var significant = UInt8(try reader.bits(6))
            if significant == 0 { significant = 64 }
            guard Int(leading) + Int(significant) <= 64 else {
                throw WireError(.malformed, "XOR chunk value window of \(leading)+\(significant) bits exceeds 64")
            }
            trailing = 64 - leading - significant
        } else if leading == 0xff {
            throw WireError(.malformed, "XOR chunk reuses a value window before defining one")
        }
        let significant = 64 - Int(leading) - Int(trailing)
        let bits = try reader.bits(significant)
        return previous ^ (bits << UInt64(trailing))
    }

    /// Encodes samples (timestamps non-decreasing, at most 65535) as one XOR chunk, bit-compatible
    /// with Prometheus' appender. Used by test servers to serve chunks.
    public static func encode(_ samples: [Sample]) -> [UInt8] {
        precondition(samples.count <= 65535, "an XOR chunk holds at most 65535 samples")
        var writer = BitWriter()
        writer.bytes = [UInt8(samples.count >> 8), UInt8(samples.count & 0xff)]
        var t: Int64 = 0
        var delta: Int64 = 0
        var v: UInt64 = 0
        var leading: UInt8 = 0xff
        var trailing: UInt8 = 0
        for (i, sample) in samples.enumerated() {
            switch i {
            case 0:
                let zz = UInt64(bitPattern: (sample.timestampMs << 1) ^ (sample.timestampMs >> 63))
                writer.byteVarint(zz)
                writer.write(sample.valueBits, 64)
            case 1:
                delta = sample.timestampMs - t
                writer.byteVarint(UInt64(bitPattern: delta))
                writeValue(&writer, sample.valueBits ^ v, &leading, &trailing)
            default:
                let newDelta = sample.timestampMs - t
                let dod = newDelta - delta
                delta = newDelta
                if dod == 0 {
                    writer.write(0, 1)
                } else if fits(dod, 14) {
                    writer.write(0b10, 2); writer.write(UInt64(bitPattern: dod), 14)
                } else if fits(dod, 17) {
                    writer.write(0b110, 3); writer.write(UInt64(bitPattern: dod), 17)
                } else if fits(dod, 20) {
                    writer.write(0b1110, 4); writer.write(UInt64(bitPattern: dod), 20)
                } else {
                    writer.write(0b1111, 4); writer.write(UInt64(bitPattern: dod), 64)
                }
                writeValue(&writer, sample.valueBits ^ v, &leading, &trailing)
            }
            t = sample.timestampMs
            v = sample.valueBits
        }
        return writer.bytes
    }

    private static func fits(_ x: Int64, _ n: Int) -> Bool {
        -((1 << (n - 1)) - 1) <= x && x <= 1 << (n - 1)
    }

    static func writeValue(_ writer: inout BitWriter, _ x: UInt64, _ leading: inout UInt8, _ trailing: inout UInt8) {
        if x == 0 { writer.write(0, 1); return }
        let lz = UInt8(min(x.leadingZeroBitCount, 31))
        let tz = UInt8(x.trailingZeroBitCount)
        if leading != 0xff && lz >= leading && tz >= trailing {
            writer.write(0b10, 2)
            writer.write(x >> UInt64(trailing), 64 - Int(leading) - Int(trailing))
            return
        }
        leading = lz
        trailing = tz
        let significant = 64 - Int(lz) - Int(tz)
        writer.write(0b11, 2)
        writer.write(UInt64(lz), 5)
        writer.write(UInt64(significant & 63), 6)
        writer.write(x >> UInt64(tz), significant)
    }
}
