/// Go's `encoding/binary` forms, appended to bytes.
struct BinaryEncoder {
    var bytes: [UInt8] = []

    mutating func uvarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    mutating func varint(_ value: Int64) {
        uvarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func be32(_ value: UInt32) {
        bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    mutating func be64(_ value: UInt64) {
        be32(UInt32(value >> 32))
        be32(UInt32(value & 0xFFFF_FFFF))
    }
}
