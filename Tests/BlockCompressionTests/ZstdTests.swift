import BlockCompression
import Testing

@Suite struct ZstdTests {
    @Test func roundTripsAndDeclaresSize() throws {
        let input = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let compressed = try Zstd.compress(input, level: 3)
        #expect(compressed.count < input.count / 10)
        #expect(Array(compressed.prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])
        #expect(try Zstd.decompress(compressed, expectedSize: input.count) == input)
    }

    @Test func emptyInputRoundTrips() throws {
        let compressed = try Zstd.compress([], level: 3)
        #expect(try Zstd.decompress(compressed, expectedSize: 0) == [])
    }

    @Test func refusesAnotherDeclaredSize() throws {
        let compressed = try Zstd.compress(Array(repeating: 7, count: 1000), level: 3)
        #expect(throws: CompressionError.self) { try Zstd.decompress(compressed, expectedSize: 999) }
        #expect(throws: CompressionError.self) { try Zstd.decompress(compressed, expectedSize: 1_000_000) }
    }

    @Test func detectsCorruptionThroughTheChecksum() throws {
        let input = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) }
        var compressed = try Zstd.compress(input, level: 3)
        compressed[compressed.count / 2] ^= 0x40
        #expect(throws: CompressionError.self) { try Zstd.decompress(compressed, expectedSize: input.count) }
    }

    @Test func refusesGarbage() {
        #expect(throws: CompressionError.self) { try Zstd.decompress([1, 2, 3, 4, 5, 6, 7, 8], expectedSize: 8) }
    }

    @Test func rejectsLevelsOutOfRange() {
        #expect(throws: CompressionError.self) { try Zstd.CompressionContext(level: 1000) }
    }
}
