import BlockCompression
public import PrometheusWire

/// Something a segment is read from, a few bytes at a time.
public protocol ByteSource {
    /// Returns up to `count` bytes; fewer only at the end of the input.
    mutating func read(_ count: Int) throws -> [UInt8]
}

/// A segment held in memory.
public struct MemoryByteSource: ByteSource {
    public let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func read(_ count: Int) throws -> [UInt8] {
        let end = min(bytes.count, offset + count)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}

/// Reads a segment block by block, checking every rule of `formats/segment-v4.md` (and of versions 1 to 3).
///
/// Memory is bounded by one block (at most `SegmentLayout.maxBlockUncompressedBytes` decoded).
/// Every structural error throws `ArchiveFormatError` naming `name` and the byte offset. After
/// `nextBlock()` returns nil, the footer has been checked against everything decoded and the input
/// has been read to its end.
public struct SegmentDecoder<Source: ByteSource> {
    public let name: String
    public private(set) var source: Source
    private var offset = 0
    private var started = false
    private var done = false
    private var decoded = SegmentSummary()
    private var lastLabels: Labels?
    private var lastTimestamp = Int64.min
    private var seriesSeen = Set<Fingerprint>()
    /// The format version found in the header.
    public private(set) var formatVersion: UInt8 = 0
    /// The footer, once the end was reached.
    public private(set) var footer: SegmentSummary?

    public init(name: String, source: Source) {
        self.name = name
        self.source = source
    }

    private func fail(_ code: ArchiveFormatError.Code, _ what: String, at position: Int? = nil) -> ArchiveFormatError {
        ArchiveFormatError(code, "\(name): \(what) (at byte \(position ?? offset))")
    }

    private mutating func readExactly(_ count: Int, _ what: String) throws -> [UInt8] {
        let bytes = try source.read(count)
        guard bytes.count == count else {
            throw fail(.truncated, "file ends inside the \(what); the segment is truncated")
        }
        offset += count
        return bytes
    }

    private mutating func readHeader() throws {
        let header = try readExactly(SegmentLayout.fileHeaderSize, "file header")
        guard Array(header[0..<8]) == SegmentLayout.fileMagic else {
            throw fail(.badMagic, "not a promferry segment (wrong magic bytes)", at: 0)
        }
        formatVersion = header[8]
        guard formatVersion >= 1 && formatVersion <= SegmentLayout.formatVersion else {
            throw fail(.unsupportedVersion, "segment format version \(formatVersion) is newer than this tool "
                + "supports (highest: \(SegmentLayout.formatVersion)); upgrade promferry", at: 8)
        }
        guard header[9...].allSatisfy({ $0 == 0 }) else {
            throw fail(.corrupt, "reserved header bytes are not zero", at: 9)
        }
    }

    /// The next block's series records, or nil after a verified footer.
    public mutating func nextBlock() throws -> [Series]? {
        if done { return nil }
        if !started { try readHeader(); started = true }
        let blockStart = offset
        let magicBytes = try readExactly(4, "block or footer magic")
        let magic: UInt32 = readLE(UInt32.self, magicBytes, at: 0)
        if magic == SegmentLayout.footerMagic {
            try readFooter(blockStart)
            return nil
        }
        guard magic == SegmentLayout.blockMagic else {
            throw fail(.corrupt, "expected a block or the footer, found bytes \(hex(magicBytes))", at: blockStart)
        }
        let header = try readExactly(SegmentLayout.blockHeaderSize - 4, "block header")
        let compressedSize = Int(readLE(UInt32.self, header, at: 0))
        let uncompressedSize = Int(readLE(UInt32.self, header, at: 4))
        let recordCount = Int(readLE(UInt32.self, header, at: 8))
        let checksum = readLE(UInt32.self, header, at: 12)
        guard uncompressedSize <= SegmentLayout.maxBlockUncompressedBytes else {
            throw fail(.limitExceeded, "block declares \(uncompressedSize) decoded bytes, over the limit of "
                + "\(SegmentLayout.maxBlockUncompressedBytes)", at: blockStart)
        }
        // zstd never grows data by more than a small margin; a larger claim is corruption, refused before allocating.
        guard compressedSize <= uncompressedSize + uncompressedSize / 128 + (1 << 16) else {
            throw fail(.corrupt, "block declares \(compressedSize) compressed bytes for \(uncompressedSize) decoded bytes", at: blockStart)
        }
        guard recordCount > 0 else { throw fail(.corrupt, "block holds no records", at: blockStart) }
        // A record takes at least 4 bytes (label count, sample count, a timestamp, the value encoding).
        guard recordCount <= uncompressedSize / 4 else {
            throw fail(.corrupt, "block declares \(recordCount) records in \(uncompressedSize) bytes", at: blockStart)
        }
        let compressed = try readExactly(compressedSize, "block data")
        guard CRC32C.checksum(compressed) == checksum else {
            throw fail(.corrupt, "block checksum mismatch; the file is corrupt", at: blockStart)
        }
        let payload: [UInt8]
        do {
            payload = try Zstd.decompress(compressed, expectedSize: uncompressedSize)
        } catch let error as CompressionError {
            throw fail(.corrupt, "block data does not decompress: \(error.message)", at: blockStart)
        }
        var reader = ProtoReader(payload)
        var series: [Series] = []
        series.reserveCapacity(recordCount)
        var histogramBudget = (samples: HistogramRecord.maxSamplesPerBlock, elements: HistogramRecord.maxElementsPerBlock)
        for index in 0..<recordCount {
            do {
                series.append(try decodeRecord(&reader, histogramBudget: &histogramBudget))
            } catch let error as WireError {
                throw fail(.corrupt, "record \(index) of the block is malformed: \(error.message)", at: blockStart)
            }
        }
        guard reader.isAtEnd else {
            throw fail(.corrupt, "block has \(payload.count - reader.index) bytes after its last record", at: blockStart)
        }
        decoded.blocks += 1
        return series
    }

    private mutating func decodeRecord(_ reader: inout ProtoReader, histogramBudget: inout (samples: Int, elements: Int)) throws -> Series {
        let labelCount = try reader.varint()
        guard labelCount <= 10_000 else { throw WireError(.malformed, "\(labelCount) labels") }
        var labels: [Label] = []
        labels.reserveCapacity(Int(labelCount))
        for _ in 0..<labelCount {
            let name = try reader.byteArray()
            let value = try reader.byteArray()
            labels.append(Label(name: name, value: value))
        }
        guard Labels.isSortedAndUnique(labels) else {
            throw WireError(.malformed, "labels are not sorted by name or not unique")
        }
        let series = Labels(sorted: labels)
        let count = try reader.varint()
        guard count > 0, count <= UInt64(reader.end - reader.index) else {
            throw WireError(.malformed, "sample count \(count) is zero or larger than the data left")
        }
        // Filled as decoded (timestamps now, values below), never zeroed first.
        var samples = try [Sample](unsafeUninitializedCapacity: Int(count)) { buffer, initialized in
            var t: Int64 = 0
            var delta: Int64 = 0
            for i in 0..<buffer.count {
                let v = unzigzag(try reader.varint())
                if i == 0 {
                    t = v
                } else {
                    delta &+= v
                    let next = t &+ delta
                    guard next > t else { throw WireError(.malformed, "series \(series): timestamp \(next) does not follow \(t)") }
                    t = next
                }
                buffer.initializeElement(at: i, to: Sample(timestampMs: t, valueBits: 0))
                initialized = i + 1
            }
        }
        var encoding = try readByte(&reader)
        var starts: [Int64] = []
        if encoding == SegmentLayout.valueEncodingWithStartTimestamps && formatVersion >= 4 {
            starts.reserveCapacity(samples.count)
            var start: Int64 = 0
            for _ in 0..<samples.count {
                start &+= unzigzag(try reader.varint())
                starts.append(start)
            }
            encoding = try readByte(&reader)
            guard encoding <= SegmentLayout.valueEncodingDecimalWithExceptions else {
                throw WireError(.malformed, "value encoding \(encoding) after start timestamps; only 0, 1 or 2 may follow them")
            }
        }
        if encoding == SegmentLayout.valueEncodingHistograms && formatVersion >= 3 {
            let histograms = try HistogramRecord.decode(&reader, timestamps: samples.map(\.timestampMs), budget: &histogramBudget)
            try checkOrder(series, first: samples[0].timestampMs, last: samples[samples.count - 1].timestampMs, count: samples.count)
            decoded.histogramSamples += histograms.count
            return Series(labels: series, samples: [], histograms: histograms)
        }
        switch encoding {
        case SegmentLayout.valueEncodingDecimal,
             SegmentLayout.valueEncodingDecimalWithExceptions where formatVersion >= 2:
            let exponent = Int(try readByte(&reader))
            guard exponent <= SegmentLayout.maxDecimalExponent else {
                throw WireError(.malformed, "decimal exponent \(exponent) above \(SegmentLayout.maxDecimalExponent)")
            }
            // Encoding 2: raw values first; the mantissas then fill the other positions in order.
            var isException = [Bool](repeating: false, count: encoding == SegmentLayout.valueEncodingDecimal ? 0 : samples.count)
            if encoding == SegmentLayout.valueEncodingDecimalWithExceptions {
                let exceptionCount = try reader.varint()
                guard exceptionCount >= 1, exceptionCount <= UInt64(samples.count) else {
                    throw WireError(.malformed, "\(exceptionCount) exceptions in a record of \(samples.count) samples")
                }
                var position: UInt64 = 0
                for _ in 0..<exceptionCount {
                    let gap = try reader.varint()
                    guard gap < UInt64(samples.count) - position else {
                        throw WireError(.malformed, "an exception's position is beyond the record's \(samples.count) samples")
                    }
                    position += gap
                    samples[Int(position)].valueBits = try reader.fixed64()
                    isException[Int(position)] = true
                    position += 1
                }
            }
            let scale = DecimalValues.powersOfTen[exponent]
            var m: Int64 = 0
            for i in 0..<samples.count where isException.isEmpty || !isException[i] {
                m &+= unzigzag(try reader.varint())
                samples[i].valueBits = (Double(m) / scale).bitPattern
            }
        case SegmentLayout.valueEncodingXOR:
            var bits: UInt64 = 0
            for i in 0..<samples.count {
                bits ^= try reader.fixed64()
                samples[i].valueBits = bits
            }
        default:
            throw WireError(.malformed, "unknown value encoding \(encoding)")
        }
        try checkOrder(series, first: samples[0].timestampMs, last: samples[samples.count - 1].timestampMs, count: samples.count)
        return Series(labels: series, samples: samples, sampleStartTimestampsMs: starts)
    }

    /// The format's ordering rules across records (one run of records per series, each record after
    /// the previous one of its series), then the record counted. Within a record, the timestamp
    /// decoder has already checked that timestamps strictly increase.
    private mutating func checkOrder(_ series: Labels, first: Int64, last: Int64, count: Int) throws {
        if series == lastLabels {
            guard first > lastTimestamp else {
                throw WireError(.malformed, "series \(series): timestamp \(first) does not follow \(lastTimestamp)")
            }
        } else {
            guard seriesSeen.insert(Fingerprint(series)).inserted else {
                throw WireError(.malformed, "series \(series) appears in two separate runs of records")
            }
            decoded.series += 1
        }
        lastLabels = series
        lastTimestamp = last
        decoded.records += 1
        decoded.samples += count
        decoded.minTimestampMs = min(decoded.minTimestampMs, first)
        decoded.maxTimestampMs = max(decoded.maxTimestampMs, last)
    }

    private func readByte(_ reader: inout ProtoReader) throws -> UInt8 {
        try reader.byte()
    }

    private mutating func readFooter(_ start: Int) throws {
        let rest = try readExactly(SegmentLayout.footerSize - 4, "footer")
        // Counts come from the file: one above Int.max is corruption, not a reason to trap.
        func count(at offset: Int) throws -> Int {
            guard let value = Int(exactly: readLE(UInt64.self, rest, at: offset)) else {
                throw fail(.corrupt, "footer count at byte \(offset + 4) is out of range", at: start)
            }
            return value
        }
        var footer = SegmentSummary(
            blocks: Int(readLE(UInt32.self, rest, at: 0)),
            records: try count(at: 4),
            series: try count(at: 12),
            samples: try count(at: 20),
            minTimestampMs: readLE(Int64.self, rest, at: 28),
            maxTimestampMs: readLE(Int64.self, rest, at: 36))
        guard Array(rest[44..<48]) == SegmentLayout.trailingMagic else {
            throw fail(.corrupt, "footer does not end with the trailing magic", at: start)
        }
        var expected = decoded
        if expected.samples == 0 { expected.minTimestampMs = 0; expected.maxTimestampMs = 0 }
        // The footer has no histogram count; the one decoded stands in for it.
        footer.histogramSamples = decoded.histogramSamples
        guard footer == expected else {
            throw fail(.corrupt, "footer says \(footer.blocks) blocks, \(footer.records) records, \(footer.series) series, "
                + "\(footer.samples) samples in [\(footer.minTimestampMs), \(footer.maxTimestampMs)], but the data holds "
                + "\(expected.blocks), \(expected.records), \(expected.series), \(expected.samples) in "
                + "[\(expected.minTimestampMs), \(expected.maxTimestampMs)]", at: start)
        }
        let trailing = try source.read(1)
        guard trailing.isEmpty else { throw fail(.corrupt, "data follows the footer") }
        self.footer = footer
        done = true
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}
