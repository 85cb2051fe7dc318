/// Prometheus' XOR2 float chunk (encoding 4, `tsdb/chunkenc/xor2.go`): XOR's samples 0 and 1, then
/// a joint prefix per sample for the timestamp's delta-of-delta and whether the value changed, and
/// optional start timestamps.
///
/// Header: `num_samples` u16 big-endian, then the start-timestamp header byte (as in HISTOGRAM_ST).
/// Sample 0: t zigzag varint, value 64 bits, then `t - st` zigzag varint if the first start timestamp
/// is known. Sample 1: `t1 - t0` uvarint, a `<varbit_xor2>` value. Samples 2…: a control prefix
///
///     0      dod 0, value unchanged           10     dod 0, value changed (`<varbit_xor2_nn>`)
///     110    13-bit dod, `<varbit_xor2>`      1110   20-bit dod, `<varbit_xor2>`
///     11110  64-bit dod, `<varbit_xor2>`      11111  dod 0, the stale NaN
///
/// `<varbit_xor2>` is `0` unchanged, `10` XOR in the previous window, `110` + 5 bits leading zeros + 6
/// bits significant bits (0 meaning 64) + the XOR in a new window, `111` the stale NaN;
/// `<varbit_xor2_nn>` drops the "unchanged" case: `0` previous window, `1` new window. Values XOR
/// against the last value that was not a stale NaN. From the sample the header names on, each
/// sample ends with its start timestamp, as `StartTimestampDecoder` reads it.
public enum XOR2Chunk {
    /// The samples, and their start timestamps (0 where none is known) when the chunk records any;
    /// empty when it records none.
    public struct Decoded: Hashable, Sendable {
        public var samples: [Sample]
        public var startTimestampsMs: [Int64]
    }

    public static func decode(_ data: [UInt8]) throws -> Decoded {
        try data.withUnsafeBytes { try decode(raw: $0) }
    }

    private static func decode(raw data: UnsafeRawBufferPointer) throws -> Decoded {
        guard data.count >= 3 else { throw WireError(.truncated, "XOR2 chunk shorter than its 3-byte header") }
        let count = Int(data[0]) << 8 | Int(data[1])
        var starts = StartTimestampDecoder(header: data[2])
        let recordsStarts = starts.firstKnown || starts.changeOn > 0
        var decoded = Decoded(samples: [], startTimestampsMs: [])
        guard count > 0 else { return decoded }
        var reader = BitReader(data, byteOffset: 3)
        decoded.samples.reserveCapacity(min(count, reader.remaining))
        var t: Int64 = 0, delta: Int64 = 0
        var value = XOR2Value()
        for index in 0..<count {
            let previousT = t
            switch index {
            case 0:
                t = try reader.zigzagVarint()
                value.setFirst(try reader.bits(64))
            case 1:
                delta = Int64(bitPattern: try reader.byteVarint())
                t &+= delta
                try value.read(&reader)
            default:
                var ones = 0
                while ones < 5, try reader.bit() == 1 { ones += 1 }
                switch ones {
                case 0:
                    t &+= delta
                    value.unchanged()
                case 1:
                    t &+= delta
                    try value.readChanged(&reader)
                case 2, 3, 4:
                    let width = [2: 13, 3: 20, 4: 64][ones]!
                    let raw = try reader.bits(width)
                    delta &+= width == 64 ? Int64(bitPattern: raw) : (raw >= 1 << UInt64(width - 1) ? Int64(raw) - (1 << Int64(width)) : Int64(raw))
                    t &+= delta
                    try value.read(&reader)
                default:
                    t &+= delta
                    value.stale()
                }
            }
            decoded.samples.append(Sample(timestampMs: t, valueBits: value.current))
            let st = try starts.next(&reader, index: index, t: t, previousT: previousT)
            if recordsStarts { decoded.startTimestampsMs.append(st) }
        }
        return decoded
    }
}

/// XOR2's value state: the value shown (`current`, which may be the stale NaN) and the last value that
/// was not (`baseline`), against which the next XOR applies.
struct XOR2Value {
    var current: UInt64 = 0
    var baseline: UInt64 = 0
    var leading = 0
    var trailing = 0

    mutating func setFirst(_ bits: UInt64) {
        current = bits
        if bits != Sample.staleNaNBits { baseline = bits }
    }

    mutating func unchanged() { current = baseline }

    mutating func stale() { current = Sample.staleNaNBits }

    /// `<varbit_xor2>`.
    mutating func read(_ reader: inout BitReader) throws {
        if try reader.bit() == 0 { return unchanged() }
        if try reader.bit() == 0 { return try apply(reader.bits(64 - leading - trailing)) }
        if try reader.bit() == 0 { return try readWindow(&reader) }
        stale()
    }

    /// `<varbit_xor2_nn>`.
    mutating func readChanged(_ reader: inout BitReader) throws {
        if try reader.bit() == 0 { return try apply(reader.bits(64 - leading - trailing)) }
        try readWindow(&reader)
    }

    private mutating func readWindow(_ reader: inout BitReader) throws {
        (leading, trailing) = try reader.valueWindow()
        try apply(reader.bits(64 - leading - trailing))
    }

    private mutating func apply(_ bits: UInt64) throws {
        baseline ^= bits << UInt64(trailing)
        current = baseline
    }
}
