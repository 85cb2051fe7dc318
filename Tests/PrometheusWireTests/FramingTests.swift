import Foundation
import PrometheusWire
import Testing

@Suite struct CRC32CTests {
    @Test func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test func slicedAndBytewisePathsAgree() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        for length in [1, 7, 8, 9, 15, 16, 17, 999] {
            #expect(CRC32C.checksum(data.prefix(length)) == CRC32C.checksum(AnySequenceWrapper(data.prefix(length))))
        }
    }
}

/// A collection without contiguous storage, to drive the byte-at-a-time path.
struct AnySequenceWrapper: Collection {
    let base: ArraySlice<UInt8>
    init(_ base: ArraySlice<UInt8>) { self.base = base }
    var startIndex: Int { base.startIndex }
    var endIndex: Int { base.endIndex }
    subscript(i: Int) -> UInt8 { base[i] }
    func index(after i: Int) -> Int { i + 1 }
}

@Suite struct ChunkedFrameDecoderTests {
    /// The reference's example: message `10 01` (query_index 1) ⇒ `02 3c cf 05 50 10 01`.
    @Test func encodesTheReferenceFrame() {
        #expect(ChunkedFrameDecoder.frame([0x10, 0x01]) == [0x02, 0x3c, 0xcf, 0x05, 0x50, 0x10, 0x01])
    }

    @Test func decodesAStreamDeliveredOneByteAtATime() throws {
        let stream = try Fixtures.bytes("chunks_histogram.response.stream")
        var decoder = ChunkedFrameDecoder()
        var frames = 0
        for byte in stream {
            decoder.append([byte])
            while try decoder.nextFrame() != nil { frames += 1 }
        }
        try decoder.finish()
        #expect(frames == 12)
    }

    @Test func reportsAStreamCutInsideAFrame() throws {
        let stream = try Fixtures.bytes("chunks_regex_neq.response.stream")
        var decoder = ChunkedFrameDecoder()
        decoder.append(stream.dropLast(3))
        while try decoder.nextFrame() != nil {}
        #expect(throws: WireError.self) { try decoder.finish() }
    }

    /// Prometheus' read handler, failing after the first frames went out, appends its error text to
    /// the stream. Short text ends the stream inside a would-be frame; long text completes one whose
    /// CRC is wrong. Either way the operator gets to read the text, and a broken binary frame shows none.
    @Test(arguments: ["expanding series: chunk not found\n",
                      String(repeating: "error: the query hit the limit of what this server reads; ", count: 3) + "\n"])
    func quotesTheTextAServerSentInsteadOfAFrame(_ text: String) throws {
        let stream = try Fixtures.bytes("chunks_regex_neq.response.stream")
        var decoder = ChunkedFrameDecoder()
        decoder.append(stream + Array(text.utf8))
        let error = #expect(throws: WireError.self) {
            while try decoder.nextFrame() != nil {}
            try decoder.finish()
        }
        let quoted = text.trimmingCharacters(in: .newlines)
        #expect(error?.message.contains("the server sent text, as a server does when it fails mid-reply: \"\(quoted)\"") == true,
                "\(error.map { "\($0)" } ?? "")")
        #expect(error?.message.contains("\n") == false)

        var binary = ChunkedFrameDecoder()
        binary.append(stream.dropLast(3))
        while try binary.nextFrame() != nil {}
        let cut = #expect(throws: WireError.self) { try binary.finish() }
        #expect(cut?.message.contains("sent text") == false)
    }

    @Test func reportsACorruptFrame() throws {
        var stream = try Fixtures.bytes("chunks_regex_neq.response.stream")
        stream[40] ^= 0x01
        var decoder = ChunkedFrameDecoder()
        decoder.append(stream)
        let error = #expect(throws: WireError.self) { while try decoder.nextFrame() != nil {} }
        #expect(error?.code == .checksumMismatch)
    }

    @Test func refusesAnOversizedFrameBeforeBufferingIt() {
        var decoder = ChunkedFrameDecoder(maxFrameBytes: 1000)
        decoder.append([0xE9, 0x07])  // declares 1001 bytes
        let error = #expect(throws: WireError.self) { try decoder.nextFrame() }
        #expect(error?.code == .frameTooLarge)
    }
}
