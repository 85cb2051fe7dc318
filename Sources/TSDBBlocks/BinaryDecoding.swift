/// The integer encodings of Prometheus' TSDB files (Go's `encoding/binary`), decoded one way for
/// every file: from a file window (`WindowCursor`) or from bytes already in memory (`BytesReader`).
enum BinaryDecoding {
    /// Go's `binary.Uvarint` over the bytes `next` gives; nil when it overflows 64 bits. `next` throws
    /// when the data ends.
    @inline(__always)
    static func uvarint(_ next: () throws -> UInt8) rethrows -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try next()
            if shift == 63 && b > 1 { return nil }
            value |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return value }
            shift += 7
        }
    }

    /// Go's zigzag `binary.Varint` from its unsigned form.
    static func zigzag(_ u: UInt64) -> Int64 {
        Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }

    /// A big-endian u32 from exactly four bytes.
    static func bigEndian32<Bytes: Collection>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
}

/// Decodes bytes already in memory (a CRC-checked series entry, a tombstones file, a chunk header),
/// naming `context` (the file, and what in it) in every error.
struct BytesReader {
    let bytes: ArraySlice<UInt8>
    /// Built only for an error: a reader is made for every series entry read.
    let context: () -> String
    private(set) var position: Int

    init(_ bytes: ArraySlice<UInt8>, context: @escaping () -> String) {
        self.bytes = bytes
        self.context = context
        position = bytes.startIndex
    }

    init(_ bytes: ArraySlice<UInt8>, context: String) {
        self.init(bytes, context: { context })
    }

    var atEnd: Bool { position >= bytes.endIndex }

    func corrupt(_ what: String) -> TSDBError {
        TSDBError(.corrupt, "\(context()): \(what)")
    }

    mutating func uvarint() throws -> UInt64 {
        let decoded = try BinaryDecoding.uvarint {
            guard position < bytes.endIndex else { throw corrupt("the data ends inside a varint") }
            defer { position += 1 }
            return bytes[position]
        }
        guard let decoded else { throw corrupt("a varint overflows 64 bits") }
        return decoded
    }

    mutating func varint() throws -> Int64 { BinaryDecoding.zigzag(try uvarint()) }

    mutating func count(atMost limit: Int) throws -> Int {
        let value = try uvarint()
        guard value <= UInt64(max(0, limit)) else { throw corrupt("a count or length of \(value) cannot fit (at most \(limit))") }
        return Int(value)
    }
}
