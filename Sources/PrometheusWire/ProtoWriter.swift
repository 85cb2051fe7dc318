/// Appends protobuf wire-format fields to a byte array.
///
/// Only the field kinds the remote read/write messages use are provided. Nested messages are
/// written with `message(_:_:)`, which encodes the body into a scratch writer and copies it once;
/// the write path's series and samples instead compute their lengths (`varintSize`) and write in
/// place, because a scratch buffer per sample cost 20 times the rest of the encoding.
public struct ProtoWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Bytes `varint(value)` writes.
    @inlinable @inline(__always)
    public static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    @inline(__always)
    public mutating func tag(_ field: Int, _ wireType: WireType) {
        varint(UInt64(field << 3 | Int(wireType.rawValue)))
    }

    /// An `int64` field (plain varint; negative values take 10 bytes). Omitted when zero unless `always`.
    public mutating func int64(_ field: Int, _ value: Int64, always: Bool = false) {
        guard value != 0 || always else { return }
        tag(field, .varint)
        varint(UInt64(bitPattern: value))
    }

    /// A `double` field given by its bit pattern, so NaN payloads and -0.0 survive.
    /// Written whenever the bits are non-zero (proto3 omits only the all-zero +0.0).
    public mutating func double(_ field: Int, bits: UInt64) {
        guard bits != 0 else { return }
        tag(field, .fixed64)
        fixed64(bits)
    }

    @inline(__always)
    public mutating func fixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func bytesField(_ field: Int, _ value: [UInt8]) {
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func string(_ field: Int, _ value: String) {
        bytesField(field, Array(value.utf8))
    }

    public mutating func message(_ field: Int, _ encode: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        encode(&inner)
        bytesField(field, inner.bytes)
    }
}

/// Protobuf wire types.
public enum WireType: UInt8, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case fixed32 = 5
}
