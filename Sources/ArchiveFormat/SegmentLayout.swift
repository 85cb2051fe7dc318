/// Constants of the segment format, `formats/segment-v4.md`. All integers are little-endian.
public enum SegmentLayout {
    /// `50 46 53 45 47 0d 0a 1a`: "PFSEG", then CR LF SUB, which catch text-mode transfers (as PNG's do).
    public static let fileMagic: [UInt8] = [0x50, 0x46, 0x53, 0x45, 0x47, 0x0D, 0x0A, 0x1A]
    /// The segment format version this tool writes; it reads versions 1...`formatVersion`.
    public static let formatVersion: UInt8 = 4
    public static let fileHeaderSize = 16
    /// "PFBK" as a little-endian u32: starts every block header.
    public static let blockMagic: UInt32 = 0x4B42_4650
    public static let blockHeaderSize = 20
    /// "PFND" as a little-endian u32: starts the footer.
    public static let footerMagic: UInt32 = 0x444E_4650
    public static let footerSize = 52
    /// The file's last 4 bytes: "PFS1".
    public static let trailingMagic: [UInt8] = [0x50, 0x46, 0x53, 0x31]
    /// Readers refuse blocks that declare more uncompressed bytes than this.
    public static let maxBlockUncompressedBytes = 64 << 20
    /// Value encodings of a record.
    public static let valueEncodingXOR: UInt8 = 0
    public static let valueEncodingDecimal: UInt8 = 1
    /// Decimals plus raw bits for the few values without an exact decimal form; version 2 on.
    public static let valueEncodingDecimalWithExceptions: UInt8 = 2
    /// Native histograms (`HistogramRecord`); version 3 on.
    public static let valueEncodingHistograms: UInt8 = 3
    /// Float samples with start timestamps: the starts, then one of encodings 0–2; version 4 on.
    public static let valueEncodingWithStartTimestamps: UInt8 = 4
    /// Largest decimal exponent: value = mantissa / 10^exponent.
    public static let maxDecimalExponent = 15
}

/// What a segment's footer states, and how many of its samples are native histograms (counted while
/// encoding or decoding; the footer does not hold it); the manifest repeats it.
public struct SegmentSummary: Hashable, Sendable, Codable {
    public var blocks: Int
    public var records: Int
    public var series: Int
    public var samples: Int
    public var minTimestampMs: Int64
    public var maxTimestampMs: Int64
    public var histogramSamples: Int

    public init(blocks: Int = 0, records: Int = 0, series: Int = 0, samples: Int = 0,
                minTimestampMs: Int64 = .max, maxTimestampMs: Int64 = .min, histogramSamples: Int = 0) {
        self.blocks = blocks
        self.records = records
        self.series = series
        self.samples = samples
        self.minTimestampMs = minTimestampMs
        self.maxTimestampMs = maxTimestampMs
        self.histogramSamples = histogramSamples
    }
}

@inline(__always)
func appendLE<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}

@inline(__always)
func readLE<T: FixedWidthInteger>(_ type: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
    var value: T = 0
    for i in 0..<MemoryLayout<T>.size { value |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i) }
    return value
}
