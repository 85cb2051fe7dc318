/// Writes protobuf wire-format bytes into memory of a size known in advance: the hot paths' writer.
///
/// `ProtoWriter` appends to a Swift array, which checks capacity and uniqueness on every byte; the
/// write request (16 bytes per sample) and the segment records spent most of their encoding time
/// there (`scripts/bench --codecs-only`, "write-request encode": 41 ns/sample before this writer).
/// A cursor is made only by `[UInt8].writing(exactly:)` or a `ScratchBuffer`, which size the memory first.
///
/// Invariant: every write checks the room left and traps rather than write past the end, and
/// `writing(exactly:)` traps unless exactly the announced number of bytes was written; a size
/// computation that disagrees with the writer is a programming error, never a silent corruption.
public struct ByteCursor {
    // Visible to inlined callers: the segment encoder writes two varints per sample through here,
    // and a call per varint into this module cost it 10% of an offline export's CPU.
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let capacity: Int
    @usableFromInline var written = 0
    public var position: Int { written }

    fileprivate init(base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inlinable @inline(__always)
    func ensure(_ count: Int) {
        precondition(capacity - written >= count, "ByteCursor: write past the announced size")
    }

    @inlinable @inline(__always)
    public mutating func byte(_ value: UInt8) {
        ensure(1)
        base.storeBytes(of: value, toByteOffset: written, as: UInt8.self)
        written += 1
    }

    @inlinable @inline(__always)
    public mutating func varint(_ value: UInt64) {
        ensure(ProtoWriter.varintSize(value))
        var at = written
        storeVarint(value, at: &at)
        written = at
    }

    /// Stores a varint at `offset` and moves it past; the caller has checked the room.
    @inlinable @inline(__always)
    func storeVarint(_ value: UInt64, at offset: inout Int) {
        var v = value
        while v >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: offset, as: UInt8.self)
            offset += 1
            v >>= 7
        }
        base.storeBytes(of: UInt8(v), toByteOffset: offset, as: UInt8.self)
        offset += 1
    }

    /// Eight bytes, little-endian.
    @inlinable @inline(__always)
    public mutating func fixed64(_ value: UInt64) {
        ensure(8)
        base.storeBytes(of: value.littleEndian, toByteOffset: written, as: UInt64.self)
        written += 8
    }

    /// A write request's `Sample` as a length-delimited field 2: the value's bits (field 1, fixed64;
    /// omitted when zero) and the timestamp (field 2, varint; omitted when zero), `innerSize` bytes of
    /// them. One room check for the whole sample instead of one per byte run: this is the import's
    /// innermost loop.
    @inlinable @inline(__always)
    public mutating func sampleField(valueBits: UInt64, timestampMs: Int64, innerSize: Int) {
        ensure(2 + innerSize)
        var at = written
        base.storeBytes(of: 0x12, toByteOffset: at, as: UInt8.self)
        base.storeBytes(of: UInt8(truncatingIfNeeded: innerSize), toByteOffset: at + 1, as: UInt8.self)
        at += 2
        if valueBits != 0 {
            base.storeBytes(of: 0x09, toByteOffset: at, as: UInt8.self)
            base.storeBytes(of: valueBits.littleEndian, toByteOffset: at + 1, as: UInt64.self)
            at += 9
        }
        if timestampMs != 0 {
            base.storeBytes(of: 0x10, toByteOffset: at, as: UInt8.self)
            at += 1
            storeVarint(UInt64(bitPattern: timestampMs), at: &at)
        }
        precondition(at - written == 2 + innerSize, "ByteCursor: a sample's size disagrees with its bytes")
        written = at
    }

    @inlinable @inline(__always)
    public mutating func bytes(_ value: [UInt8]) {
        ensure(value.count)
        value.withUnsafeBytes { source in
            if let address = source.baseAddress { (base + written).copyMemory(from: address, byteCount: source.count) }
        }
        written += value.count
    }
}

extension Array where Element == UInt8 {
    /// An array of exactly `count` bytes, written by `body` through a cursor.
    public static func writing(exactly count: Int, _ body: (inout ByteCursor) -> Void) -> [UInt8] {
        // At least one byte of storage, so that there is an address even for an empty result.
        [UInt8](unsafeUninitializedCapacity: Swift.max(count, 1)) { buffer, initialized in
            var cursor = ByteCursor(base: UnsafeMutableRawPointer(buffer.baseAddress!), capacity: count)
            body(&cursor)
            precondition(cursor.position == count, "ByteCursor: wrote \(cursor.position) bytes, announced \(count)")
            initialized = count
        }
    }
}

/// Reusable memory for encodings whose exact size is only known once written (runs of varints):
/// write through a cursor into room for the worst case, then copy out only the bytes written. The
/// memory grows to the largest worst case seen and is kept, so a steady stream allocates nothing.
public final class ScratchBuffer {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int

    public init(capacity: Int = 1 << 16) {
        self.capacity = max(1, capacity)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit { base.deallocate() }

    /// Appends to `bytes` what `body` writes, at most `maxBytes` of it.
    public func append(to bytes: inout [UInt8], writingAtMost maxBytes: Int, _ body: (inout ByteCursor) -> Void) {
        if maxBytes > capacity {
            base.deallocate()
            capacity = max(maxBytes, capacity * 2)
            base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        }
        var cursor = ByteCursor(base: base, capacity: maxBytes)
        body(&cursor)
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: base, count: cursor.position))
    }
}
