/// Splits a streamed remote-read body into frames, incrementally.
///
/// Frame layout (prometheus/storage/remote/chunked.go):
/// `uvarint(len(msg)) || CRC-32C(msg) as 4 bytes big-endian || msg`.
///
/// Invariants: a frame is returned only when all its bytes have arrived and its CRC matches; a length
/// over `maxFrameBytes` is refused before any of the payload is buffered, so memory stays bounded by
/// `maxFrameBytes` plus one network read. `finish()` throws when the stream ended inside a frame,
/// which a real Prometheus does when it fails mid-response.
public struct ChunkedFrameDecoder: Sendable {
    public let maxFrameBytes: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Bytes consumed by completed frames, for error offsets.
    public private(set) var consumedBytes = 0

    public init(maxFrameBytes: Int = 50_000_000) {
        self.maxFrameBytes = maxFrameBytes
    }

    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame's message, or nil when more bytes are needed.
    public mutating func nextFrame() throws -> [UInt8]? {
        var index = readIndex
        var length: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < buffer.count else { return nil }
            let byte = buffer[index]
            index += 1
            length |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { break }
            shift += 7
            guard shift < 64 else {
                throw WireError(.malformed, "stream frame at byte \(consumedBytes) has an over-long length varint")
            }
        }
        guard length <= UInt64(maxFrameBytes) else {
            throw WireError(.frameTooLarge,
                "stream frame at byte \(consumedBytes) declares \(length) bytes, over the limit of \(maxFrameBytes)")
        }
        let total = index - readIndex + 4 + Int(length)
        guard buffer.count - readIndex >= total else { return nil }
        let expected = UInt32(buffer[index]) << 24 | UInt32(buffer[index + 1]) << 16
            | UInt32(buffer[index + 2]) << 8 | UInt32(buffer[index + 3])
        let message = Array(buffer[(index + 4)..<(index + 4 + Int(length))])
        let actual = CRC32C.checksum(message)
        guard actual == expected else {
            throw WireError(.checksumMismatch, "stream frame at byte \(consumedBytes): CRC-32C mismatch "
                + "(frame says 0x\(String(expected, radix: 16)), data gives 0x\(String(actual, radix: 16)))" + textInsteadOfFrame())
        }
        readIndex += total
        consumedBytes += total
        return message
    }

    /// Checks that the stream ended on a frame boundary.
    public func finish() throws {
        let left = buffer.count - readIndex
        if left > 0 {
            throw WireError(.truncated,
                "stream ended inside a frame at byte \(consumedBytes) (\(left) bytes of an incomplete frame)" + textInsteadOfFrame())
        }
    }

    /// The unread bytes, quoted, when they are text rather than a frame. A server that fails after its
    /// reply has begun can only append its error message to the stream (Prometheus' read handler
    /// calls `http.Error` at that point), and that message is what the operator needs to see.
    private func textInsteadOfFrame() -> String {
        let tail = buffer[readIndex...].prefix(300)
        guard tail.count >= 8, let text = String(validating: tail, as: UTF8.self),
              text.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control || $0 == "\n" || $0 == "\t" })
        else { return "" }
        let oneLine = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return "; instead of a frame the server sent text, as a server does when it fails mid-reply: \"\(oneLine)\""
            + (buffer.count - readIndex > tail.count ? "…" : "")
    }

    /// Encodes one frame; used by tests and fake servers.
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        var writer = ProtoWriter(capacity: message.count + 10)
        writer.varint(UInt64(message.count))
        let crc = CRC32C.checksum(message)
        writer.bytes += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xff), UInt8((crc >> 8) & 0xff), UInt8(crc & 0xff)]
        writer.bytes += message
        return writer.bytes
    }
}
