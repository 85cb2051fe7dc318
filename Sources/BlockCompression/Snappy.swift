internal import CSnappy
internal import CSnappyVersion

/// Snappy *block* format, as both remote protocols require (the framed format is forbidden there).
public enum Snappy {
    /// The snappy version compiled and linked in, e.g. "1.1.9".
    public static var libraryVersion: String { String(cString: promferry_snappy_version()) }

    /// Compresses `input` as one snappy block. The corresponding C function is `snappy_compress`.
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { src in
            [UInt8](unsafeUninitializedCapacity: maxCompressedLength(src.count)) { out, count in
                count = compress(src, into: UnsafeMutableRawBufferPointer(out))
            }
        }
    }

    /// The most bytes that compressing `inputLength` bytes can take.
    public static func maxCompressedLength(_ inputLength: Int) -> Int { snappy_max_compressed_length(inputLength) }

    /// Compresses `input` as one snappy block into `output`, which must hold at least
    /// `maxCompressedLength(input.count)` bytes (it need not be initialised); returns the bytes written.
    /// Lets a caller compress straight into its own buffer, with no zeroing and no copy.
    public static func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        precondition(output.count >= maxCompressedLength(input.count), "snappy output buffer below the bound")
        var length = output.count
        let status = snappy_compress(input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? emptyInput, input.count,
                                     output.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
        // snappy_compress only fails when the output buffer is too small, and we checked the bound.
        precondition(status == SNAPPY_OK, "snappy_compress failed with an output buffer of its own bound")
        return length
    }

    /// The uncompressed length a snappy block declares in its preamble.
    /// The corresponding C function is `snappy_uncompressed_length`.
    public static func declaredLength(_ input: [UInt8]) throws -> Int {
        var length = 0
        let status = input.withUnsafeBytes { src in
            snappy_uncompressed_length(src.baseAddress?.assumingMemoryBound(to: CChar.self) ?? emptyInput, src.count, &length)
        }
        guard status == SNAPPY_OK else {
            throw CompressionError(.corruptInput, "snappy block has no valid length preamble")
        }
        return length
    }

    /// Decompresses one snappy block, refusing to allocate more than `maxOutputBytes`.
    ///
    /// The declared length is checked against the limit *before* any allocation, so a hostile
    /// preamble claiming gigabytes costs nothing.
    /// The corresponding C function is `snappy_uncompress`.
    public static func decompress(_ input: [UInt8], maxOutputBytes: Int) throws -> [UInt8] {
        var length = try declaredLength(input)
        guard length <= maxOutputBytes else {
            throw CompressionError(.sizeLimitExceeded,
                "snappy block declares \(length) bytes, over the limit of \(maxOutputBytes)")
        }
        var output = [UInt8](repeating: 0, count: length)
        if length == 0 { return output }
        let status = output.withUnsafeMutableBytes { out in
            input.withUnsafeBytes { src in
                snappy_uncompress(src.baseAddress!.assumingMemoryBound(to: CChar.self), src.count,
                                  out.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        guard status == SNAPPY_OK else {
            throw CompressionError(.corruptInput, "snappy block is corrupt")
        }
        return output
    }

    /// A valid pointer for empty inputs: the C API does not accept NULL even with a zero length.
    nonisolated(unsafe) private static let emptyInput: UnsafePointer<CChar> = {
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return UnsafePointer(pointer)
    }()
}
