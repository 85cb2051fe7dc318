import BlockCompression
import Testing

@Suite struct SnappyTests {
    @Test func roundTrips() throws {
        let input = Array("the quick brown fox jumps over the lazy dog, the quick brown fox".utf8)
        let compressed = Snappy.compress(input)
        #expect(try Snappy.declaredLength(compressed) == input.count)
        #expect(try Snappy.decompress(compressed, maxOutputBytes: 1 << 20) == input)
        #expect(try Snappy.decompress(Snappy.compress([]), maxOutputBytes: 0) == [])
    }

    /// The literal-only block of the reference's remote-write example (§2.2): preamble 0x24, tag 0x8c.
    @Test func decodesALiteralOnlyBlock() throws {
        let message: [UInt8] = [0x0a, 0x22, 0x0a, 0x0e, 0x0a, 0x08, 0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f, 0x12, 0x02,
                                0x75, 0x70, 0x12, 0x10, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31]
        #expect(try Snappy.decompress([0x24, 0x8c] + message, maxOutputBytes: 100) == message)
    }

    @Test func refusesAHugeDeclaredLengthBeforeAllocating() {
        // Preamble claims 2^32-1 bytes.
        let hostile: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]
        #expect(throws: CompressionError.self) { try Snappy.decompress(hostile, maxOutputBytes: 32 << 20) }
    }

    @Test func refusesCorruptBlocks() {
        // Declares 10 bytes, then a copy with offset 0.
        #expect(throws: CompressionError.self) { try Snappy.decompress([0x0a, 0x01, 0x00], maxOutputBytes: 100) }
    }
}
