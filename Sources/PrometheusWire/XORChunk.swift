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

    private static func writeValue(_ writer: inout BitWriter, _ x: UInt64, _ leading: inout UInt8, _ trailing: inout UInt8) {
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

/// MSB-first bit reader over a byte array; every read is bounds-checked.
struct BitReader {
    let bytes: [UInt8]
    var bitIndex: Int
    let bitCount: Int

    init(_ bytes: [UInt8], byteOffset: Int) {
        self.bytes = bytes
        self.bitIndex = byteOffset * 8
        self.bitCount = bytes.count * 8
    }

    @inline(__always)
    mutating func bit() throws -> UInt64 {
        guard bitIndex < bitCount else { throw WireError(.truncated, "XOR chunk ends before its last sample") }
        let value = UInt64(bytes[bitIndex >> 3] >> (7 - UInt8(bitIndex & 7))) & 1
        bitIndex += 1
        return value
    }

    /// The next `n` bits (0...64), most significant first.
    @inline(__always)
    mutating func bits(_ n: Int) throws -> UInt64 {
        guard n > 0 else { return 0 }
        guard bitCount - bitIndex >= n else { throw WireError(.truncated, "XOR chunk ends before its last sample") }
        let byteIndex = bitIndex >> 3
        let offset = bitIndex & 7
        bitIndex += n
        // One big-endian 8-byte load holds 64 - offset bits from here; a ninth byte completes wider reads.
        var window = load(byteIndex) << UInt64(offset)
        if n > 64 - offset { window |= UInt64(bytes[byteIndex + 8]) >> UInt64(8 - offset) }
        return window >> UInt64(64 - n)
    }

    /// 8 bytes from `index` as a big-endian integer, zero past the end.
    @inline(__always)
    private func load(_ index: Int) -> UInt64 {
        if index + 8 <= bytes.count {
            return bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: index, as: UInt64.self)) }
        }
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | (index + i < bytes.count ? UInt64(bytes[index + i]) : 0) }
        return value
    }

    /// A varint read 8 bits at a time (the chunk format writes t0 and t1−t0 this way).
    mutating func byteVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try bits(8)
            result |= (byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
            guard shift < 64 else { throw WireError(.malformed, "XOR chunk holds an over-long varint") }
        }
    }
}

/// MSB-first bit writer.
struct BitWriter {
    var bytes: [UInt8] = []
    /// Free bits in the last byte (0 means a new byte is needed).
    var free = 0

    mutating func write(_ value: UInt64, _ n: Int) {
        var remaining = n
        while remaining > 0 {
            if free == 0 { bytes.append(0); free = 8 }
            let take = min(free, remaining)
            let chunk = UInt8(truncatingIfNeeded: (value >> UInt64(remaining - take)) & ((1 << UInt64(take)) - 1))
            bytes[bytes.count - 1] |= chunk << UInt8(free - take)
            free -= take
            remaining -= take
        }
    }

    mutating func byteVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { write((v & 0x7f) | 0x80, 8); v >>= 7 }
        write(v, 8)
    }
}
