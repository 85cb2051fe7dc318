/// Reads protobuf wire-format fields from a range of a byte array without copying.
///
/// Every read is bounds-checked and throws `WireError` on truncation: no input can make it trap.
/// Nested messages are read by `subReader()`, which shares the same storage.
public struct ProtoReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var index: Int
    public let end: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.index = 0
        self.end = bytes.count
    }

    init(bytes: [UInt8], index: Int, end: Int) {
        self.bytes = bytes
        self.index = index
        self.end = end
    }

    public var isAtEnd: Bool { index >= end }

    @inline(__always)
    public mutating func varint() throws -> UInt64 {
        // Most varints of the hot paths (timestamp deltas, tags, small lengths) are one byte.
        if index < end, bytes[index] < 0x80 {
            index += 1
            return UInt64(bytes[index - 1])
        }
        return try multiByteVarint()
    }

    private mutating func multiByteVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < end else { throw WireError(.truncated, "varint runs past the end at offset \(index)") }
            let byte = bytes[index]
            index += 1
            if shift == 63 && byte > 1 {
                throw WireError(.malformed, "varint longer than 64 bits at offset \(index - 1)")
            }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { throw WireError(.malformed, "varint longer than 10 bytes at offset \(index - 1)") }
        }
    }

    /// Reads the next field key. Returns nil at the end of the message.
    public mutating func nextField() throws -> (field: Int, wireType: UInt8)? {
        guard index < end else { return nil }
        let key = try varint()
        let field = Int(truncatingIfNeeded: key >> 3)
        guard field > 0 && field < (1 << 29) else {
            throw WireError(.malformed, "invalid field number \(key >> 3) at offset \(index)")
        }
        return (field, UInt8(key & 7))
    }

    @inline(__always)
    public mutating func fixed64() throws -> UInt64 {
        guard end - index >= 8 else { throw WireError(.truncated, "fixed64 runs past the end at offset \(index)") }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[index + i]) << (8 * UInt64(i)) }
        index += 8
        return value
    }

    /// One raw byte.
    public mutating func byte() throws -> UInt8 {
        guard index < end else { throw WireError(.truncated, "message ends early at offset \(index)") }
        index += 1
        return bytes[index - 1]
    }

    /// The range of a length-delimited field's payload; advances past it.
    public mutating func lengthDelimited() throws -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - index) else {
            throw WireError(.truncated, "length \(length) at offset \(index) points past the end of the message")
        }
        let start = index
        index += Int(length)
        return start..<index
    }

    public mutating func subReader() throws -> ProtoReader {
        let range = try lengthDelimited()
        return ProtoReader(bytes: bytes, index: range.lowerBound, end: range.upperBound)
    }

    public mutating func byteArray() throws -> [UInt8] {
        Array(bytes[try lengthDelimited()])
    }

    /// Skips a field of an unknown number, as protobuf requires.
    public mutating func skip(wireType: UInt8) throws {
        switch wireType {
        case 0: _ = try varint()
        case 1: guard end - index >= 8 else { throw WireError(.truncated, "fixed64 runs past the end") }; index += 8
        case 2: _ = try lengthDelimited()
        case 5: guard end - index >= 4 else { throw WireError(.truncated, "fixed32 runs past the end") }; index += 4
        default: throw WireError(.malformed, "unsupported wire type \(wireType) at offset \(index)")
        }
    }

    /// Reads repeated varints that may be packed (LEN) or unpacked (VARINT).
    public mutating func repeatedVarints(wireType: UInt8, into values: inout [UInt64]) throws {
        if wireType == 2 {
            var packed = try subReader()
            while !packed.isAtEnd { values.append(try packed.varint()) }
        } else if wireType == 0 {
            values.append(try varint())
        } else {
            throw WireError(.malformed, "repeated varint field with wire type \(wireType)")
        }
    }

    /// Throws unless the field has the expected wire type.
    @inline(__always)
    public func expect(_ wireType: UInt8, _ expected: WireType, _ what: String) throws {
        guard wireType == expected.rawValue else {
            throw WireError(.malformed, "\(what): wire type \(wireType), expected \(expected.rawValue)")
        }
    }
}
