/// The bit streams of Prometheus' chunk encodings (`tsdb/chunkenc/bstream.go`, `varbit.go`): bits
/// are read and written most significant first, and a byte-wise varint may start at any bit.

/// MSB-first bit reader over bytes that the caller keeps alive (a decoder makes one inside
/// `withUnsafeBytes` and never lets it escape); every read is checked against the end, so no read
/// leaves the buffer whatever the bytes say.
struct BitReader {
    private let bytes: UnsafeRawBufferPointer
    var bitIndex: Int
    let bitCount: Int

    init(_ bytes: UnsafeRawBufferPointer, byteOffset: Int) {
        self.bytes = bytes
        self.bitIndex = byteOffset * 8
        self.bitCount = bytes.count * 8
    }

    @inline(__always)
    mutating func bit() throws -> UInt64 {
        guard bitIndex < bitCount else { throw WireError(.truncated, "chunk ends before its last sample") }
        let byte = bytes.load(fromByteOffset: bitIndex >> 3, as: UInt8.self)
        let value = UInt64(byte >> (7 - UInt8(bitIndex & 7))) & 1
        bitIndex += 1
        return value
    }

    /// The next `n` bits (0...64), most significant first.
    @inline(__always)
    mutating func bits(_ n: Int) throws -> UInt64 {
        guard n > 0 else { return 0 }
        guard bitCount - bitIndex >= n else { throw WireError(.truncated, "chunk ends before its last sample") }
        let byteIndex = bitIndex >> 3
        let offset = bitIndex & 7
        bitIndex += n
        // One big-endian 8-byte load holds 64 - offset bits from here; a ninth byte completes wider reads.
        var window = load(byteIndex) << UInt64(offset)
        if n > 64 - offset { window |= UInt64(bytes.load(fromByteOffset: byteIndex + 8, as: UInt8.self)) >> UInt64(8 - offset) }
        return window >> UInt64(64 - n)
    }

    /// 8 bytes from `index` as a big-endian integer, zero past the end.
    @inline(__always)
    private func load(_ index: Int) -> UInt64 {
        if index + 8 <= bytes.count {
            return UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
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
            guard shift < 64 else { throw WireError(.malformed, "chunk holds an over-long varint") }
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

extension BitReader {
    /// Bits left to read.
    var remaining: Int { bitCount - bitIndex }

    /// A new XOR window: 5 bits of leading zeros, 6 bits of significant bits (0 meaning 64), as the
    /// (leading, trailing) zero counts around the significant bits.
    mutating func valueWindow() throws -> (leading: Int, trailing: Int) {
        let leading = Int(try bits(5))
        var significant = Int(try bits(6))
        if significant == 0 { significant = 64 }
        guard leading + significant <= 64 else {
            throw WireError(.malformed, "chunk value window of \(leading)+\(significant) bits exceeds 64")
        }
        return (leading, 64 - leading - significant)
    }

    /// A zigzag varint read 8 bits at a time (Go's `binary.Varint` over the bit stream).
    mutating func zigzagVarint() throws -> Int64 {
        let u = try byteVarint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// The width, in value bits, that a varbit prefix of `ones` leading one bits announces
    /// (`0` → 0, `10` → 3, `110` → 6, … `11111110` → 56, `11111111` → 64).
    private mutating func varbitWidth() throws -> Int {
        var ones = 0
        while ones < 8, try bit() == 1 { ones += 1 }
        return [0, 3, 6, 9, 12, 18, 25, 56, 64][ones]
    }

    /// A `<varbit_int>`: a prefix, then that many bits of two's complement in which the width's
    /// top value `2^(w-1)` is positive (the range is `-(2^(w-1)-1) ... 2^(w-1)`), or 64 plain bits.
    mutating func varbitInt() throws -> Int64 {
        let width = try varbitWidth()
        guard width > 0 else { return 0 }
        let raw = try bits(width)
        if width == 64 { return Int64(bitPattern: raw) }
        return raw > (1 << UInt64(width - 1)) ? Int64(raw) - (1 << Int64(width)) : Int64(raw)
    }

    /// A `<varbit_uint>`: the same prefixes as `varbitInt`, the bits read as unsigned.
    mutating func varbitUint() throws -> UInt64 {
        let width = try varbitWidth()
        return width == 0 ? 0 : try bits(width)
    }
}

extension BitWriter {
    /// Writes `value` as `<varbit_int>` in the narrowest width that holds it.
    mutating func varbitInt(_ value: Int64) {
        if value == 0 { write(0, 1); return }
        for (prefix, width) in [(0b10, 3), (0b110, 6), (0b1110, 9), (0b11110, 12), (0b111110, 18), (0b1111110, 25), (0b11111110, 56)]
        where -((1 << Int64(width - 1)) - 1) <= value && value <= 1 << Int64(width - 1) {
            write(UInt64(prefix), 64 - UInt64(prefix).leadingZeroBitCount)
            write(UInt64(bitPattern: value) & ((1 << UInt64(width)) - 1), width)
            return
        }
        write(0xFF, 8)
        write(UInt64(bitPattern: value), 64)
    }

    /// Writes `value` as `<varbit_uint>` in the narrowest width that holds it.
    mutating func varbitUint(_ value: UInt64) {
        if value == 0 { write(0, 1); return }
        for (prefix, width) in [(0b10, 3), (0b110, 6), (0b1110, 9), (0b11110, 12), (0b111110, 18), (0b1111110, 25), (0b11111110, 56)]
        where value < 1 << UInt64(width) {
            write(UInt64(prefix), 64 - UInt64(prefix).leadingZeroBitCount)
            write(value, width)
            return
        }
        write(0xFF, 8)
        write(value, 64)
    }
}
