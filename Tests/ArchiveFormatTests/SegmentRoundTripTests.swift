@testable import ArchiveFormat
import BlockCompression
import PrometheusWire
import Testing

func encodeSegment(_ series: [Series], level: Int = 3, blockTargetBytes: Int = 4 << 20) throws -> [UInt8] {
    let encoder = try SegmentEncoder(compressionLevel: level, blockTargetBytes: blockTargetBytes, maxSamplesPerRecord: 1000)
    var bytes = encoder.start()
    for s in series { bytes += try encoder.append(labels: s.labels, samples: s.samples[...]) }
    bytes += try encoder.finish()
    #expect(bytes.count == encoder.bytesProduced)
    return bytes
}

func decodeSegment(_ bytes: [UInt8]) throws -> (series: [Series], footer: SegmentSummary?) {
    var decoder = SegmentDecoder(name: "test.pfs", source: MemoryByteSource(bytes))
    var out: [Series] = []
    while let block = try decoder.nextBlock() {
        for s in block {
            if let last = out.last, last.labels == s.labels { out[out.count - 1].samples += s.samples } else { out.append(s) }
        }
    }
    return (out, decoder.footer)
}

/// A one-block segment around a hand-written payload, for decoder tests.
func handBuiltSegment(version: UInt8, payload: [UInt8], records: Int, samples: Int, minT: Int64, maxT: Int64) throws -> [UInt8] {
    func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    let compressed = try Zstd.CompressionContext(level: 1).compress(payload)
    var bytes = SegmentLayout.fileMagic + [version, 0, 0, 0, 0, 0, 0, 0]
    bytes += le(SegmentLayout.blockMagic) + le(UInt32(compressed.count)) + le(UInt32(payload.count)) + le(UInt32(records))
    bytes += le(CRC32C.checksum(compressed)) + compressed
    bytes += le(SegmentLayout.footerMagic) + le(UInt32(1)) + le(UInt64(records)) + le(UInt64(records)) + le(UInt64(samples))
    bytes += le(minT) + le(maxT) + SegmentLayout.trailingMagic
    return bytes
}

@Suite struct SegmentRoundTripTests {
    static let specialBits: [UInt64] = [
        Sample.staleNaNBits, 0x7FF8_0000_0000_0001, Double.nan.bitPattern, 0xFFF8_0000_0000_0000, 0x7FF0_0000_0000_0001,
        Double.infinity.bitPattern, (-Double.infinity).bitPattern, (-0.0).bitPattern, Double(0.0).bitPattern,
        Double.leastNonzeroMagnitude.bitPattern, (-Double.leastNormalMagnitude).bitPattern,
        Double.greatestFiniteMagnitude.bitPattern, Double(0.1).bitPattern, (1.0 / 3).bitPattern, 1e300.bitPattern,
    ]

    static func series(_ name: String, _ values: [UInt64], start: Int64 = 1_700_000_000_000, step: Int64 = 15_000) -> Series {
        Series(labels: Labels(sorting: [Label("__name__", name), Label("job", "j")]),
               samples: values.enumerated().map { Sample(timestampMs: start + Int64($0.offset) * step + Int64($0.offset % 3), valueBits: $0.element) })
    }

    @Test func keepsEveryValueBitAndLabelByte() throws {
        let exotic = Labels(sorting: [Label("__name__", "exotic"), Label("a", "café ☕ \"quoted\" \\ back\nslash"),
                                      Label("b", ""), Label(name: [0x7a], value: [0xff, 0xfe, 0x00, 0x01])])
        let input = [
            Self.series("special", Self.specialBits),
            Self.series("decimal", [12.34, 12.35, -7.5, 1e6, 0, 3].map(\.bitPattern)),
            Series(labels: exotic, samples: [Sample(timestampMs: -5, valueBits: 1), Sample(timestampMs: 0, valueBits: Sample.staleNaNBits)]),
        ]
        let (output, footer) = try decodeSegment(try encodeSegment(input))
        #expect(output.sorted { $0.labels < $1.labels } == input.sorted { $0.labels < $1.labels })
        #expect(footer == SegmentSummary(blocks: 1, records: 3, series: 3, samples: Self.specialBits.count + 8,
                                         minTimestampMs: -5, maxTimestampMs: 1_700_000_000_000 + 14 * 15_000 + 2))
    }

    @Test func choosesDecimalsOnlyWhenTheyRoundTrip() {
        func plan(_ values: [Double]) -> DecimalValues.Plan? { plan(values.map(\.bitPattern)) }
        func plan(_ bits: [UInt64]) -> DecimalValues.Plan? {
            var mantissas: [Int64] = []
            return DecimalValues.plan(Self.series("a", bits).samples[...], mantissas: &mantissas)
        }
        #expect(plan([12.34, 0.5, -3]) == .init(exponent: 2, exceptions: []))
        #expect(plan([1, 2, 1e15]) == .init(exponent: 0, exceptions: []))
        #expect(plan([-0.0]) == nil)
        #expect(plan([Sample.staleNaNBits]) == nil)
        #expect(plan([1.0 / 3]) == nil)
        #expect(plan([1e300]) == nil)
        // A few values without a decimal form become exceptions; more than a quarter means XOR.
        #expect(plan([1.5, 2.25, 3, Double.infinity].map(\.bitPattern)) == .init(exponent: 2, exceptions: [3]))
        #expect(plan([Double(1.5).bitPattern, Sample.staleNaNBits, Double(2.5).bitPattern, Double(3.5).bitPattern, (-0.0).bitPattern,
                      Double(4.5).bitPattern, Double(5.5).bitPattern, Double(6.5).bitPattern]) == .init(exponent: 1, exceptions: [1, 4]))
        #expect(plan([Double(1.5).bitPattern, Sample.staleNaNBits, (-0.0).bitPattern, Double(3.5).bitPattern]) == nil)
        // 2^53 fits at exponent 0 but not once 0.5 needs exponent 1: it becomes the exception.
        #expect(plan([9_007_199_254_740_992, 1, 2, 0.5]) == .init(exponent: 1, exceptions: [0]))
    }

    /// A repeated value reuses the mantissa before it; that must give what computing it afresh gives,
    /// across a change of exponent and beside exceptions.
    @Test func repeatedValuesGetTheMantissaOfTheirExponent() {
        func planned(_ values: [Double]) -> (DecimalValues.Plan?, [Int64]) {
            var mantissas: [Int64] = []
            let plan = DecimalValues.plan(Self.series("a", values.map(\.bitPattern)).samples[...], mantissas: &mantissas)
            return (plan, mantissas)
        }
        #expect(planned([0.5, 0.5, 0.25, 0.25, 0.5]) == (.init(exponent: 2, exceptions: []), [50, 50, 25, 25, 50]))
        #expect(planned([9_007_199_254_740_992, 9_007_199_254_740_992, 1, 1, 0.5, 0.5, 2, 3, 4])
            == (.init(exponent: 1, exceptions: [0, 1]), [0, 0, 10, 10, 5, 5, 20, 30, 40]))
        #expect(planned([.infinity, .infinity, 1, 1, 2, 2, 3, 3, 4]) == (.init(exponent: 0, exceptions: [0, 1]), [0, 0, 1, 1, 2, 2, 3, 3, 4]))
        #expect(planned([0.5, 9_007_199_254_740_992, 9_007_199_254_740_992, 1.5, 1.5, 2.5, 3.5, 4.5, 5.5])
            == (.init(exponent: 1, exceptions: [1, 2]), [5, 0, 0, 15, 15, 25, 35, 45, 55]))
    }

    @Test func staleMarkersAndSpecialValuesBesideDecimalsRoundTripAsExceptions() throws {
        var values = (0..<200).map { (Double($0 * 7 % 1000) / 100).bitPattern }
        for (position, bits) in [(0, Sample.staleNaNBits), (57, (-0.0).bitPattern), (58, Double.infinity.bitPattern),
                                 (120, 0xFFF8_0000_0000_0000), (199, Sample.staleNaNBits)] { values[position] = bits }
        let input = [Self.series("with_exceptions", values), Self.series("plain", Array(values[1..<57]))]
        let bytes = try encodeSegment(input)
        #expect(try decodeSegment(bytes).series == input)
        let xorSize = try encodeSegment([Self.series("xor", values.map { $0 ^ 1 << 60 })]).count
        #expect(bytes.count < xorSize)
    }

    @Test func refusesEncoding2InAVersion1FileAndBadExceptionLists() throws {
        // One record, 2 samples, built by hand: the tail after the timestamps varies.
        func segment(version: UInt8, values: [UInt8]) throws -> [UInt8] {
            var payload: [UInt8] = [1, 1, 0x61, 0, 2, 0x02, 0x02]  // labels {a=""}, 2 samples at t=1, 2
            payload += values
            return try handBuiltSegment(version: version, payload: payload, records: 1, samples: 2, minT: 1, maxT: 2)
        }
        let valid: [UInt8] = [2, 1, 1, 1, 0x02, 0, 0, 0, 0, 0, 0xF0, 0x7F, 0x14]  // exponent 1; position 1 stale; 1.0
        let decoded = try decodeSegment(try segment(version: 2, values: valid)).series
        #expect(decoded.first?.samples.map(\.valueBits) == [Double(1.0).bitPattern, Sample.staleNaNBits])
        #expect(throws: ArchiveFormatError.self) { try decodeSegment(try segment(version: 1, values: valid)) }
        // No exceptions; more exceptions than samples; a position past the end.
        #expect(throws: ArchiveFormatError.self) { try decodeSegment(try segment(version: 2, values: [2, 1, 0, 0x14, 0x02])) }
        #expect(throws: ArchiveFormatError.self) { try decodeSegment(try segment(version: 2, values: [2, 1, 3] + valid.dropFirst(3))) }
        #expect(throws: ArchiveFormatError.self) {
            try decodeSegment(try segment(version: 2, values: [2, 1, 1, 2, 0x02, 0, 0, 0, 0, 0, 0xF0, 0x7F, 0x14, 0x14]))
        }
    }

    @Test func splitsLongSeriesIntoRecordsAndBlocks() throws {
        let long = Self.series("long", (0..<5000).map { Double($0 % 17) * 0.25 }.map(\.bitPattern))
        let other = Self.series("other", (0..<10).map { Double($0).bitPattern })
        let bytes = try encodeSegment([long, other], blockTargetBytes: 4096)
        let (output, footer) = try decodeSegment(bytes)
        #expect(output == [long, other])
        #expect(footer!.records == 6)
        #expect(footer!.series == 2)
        #expect(footer!.blocks > 1)
    }

    /// The encoder groups a block's series by their values' bytes per sample (`orderedPayload`); a series
    /// that a block boundary cuts stays one run: the block's last series stays last, and the next block's
    /// continuation of it first.
    @Test func groupsSeriesByTheSizeOfTheirValuesAndKeepsEverySeriesOneRun() throws {
        var random = SystemRandomNumberGenerator()
        for round in 0..<20 {
            let input = (0..<40).map { i in
                let count = [3, 50, 400, 2500][(i + round) % 4]
                let values: [Double] = (0..<count).map { k in
                    switch (i * 7 + round) % 3 {
                    case 0: 1
                    case 1: Double(k * (i + 1))
                    default: Double(Int.random(in: 0..<1_000_000_000, using: &random)) / 1e9
                    }
                }
                return Self.series("s\(i)", values.map(\.bitPattern))
            }
            let bytes = try encodeSegment(input, blockTargetBytes: [1024, 4096, 20_000, 4 << 20][round % 4])
            let (output, footer) = try decodeSegment(bytes)
            #expect(Set(output.map(\.labels)).count == output.count, "every series is one run")
            #expect(output.sorted { $0.labels < $1.labels } == input.sorted { $0.labels < $1.labels })
            #expect(footer!.series == 40)
        }
        // In one block: constant series first, then counters, then the random durations.
        let constant = Self.series("c", Array(repeating: Double(1).bitPattern, count: 200))
        let counter = Self.series("n", (0..<200).map { Double($0 * 1000).bitPattern })
        let durations = Self.series("d", (0..<200).map { _ in Double(Int.random(in: 0..<1_000_000_000, using: &random)) / 1e9 }.map(\.bitPattern))
        let last = Self.series("z", [Double(2).bitPattern])
        let (output, _) = try decodeSegment(try encodeSegment([durations, counter, constant, last]))
        #expect(output.map(\Series.labels) == [constant, counter, durations, last].map(\Series.labels))
    }

    @Test func emptySegmentIsValid() throws {
        let (output, footer) = try decodeSegment(try encodeSegment([]))
        #expect(output.isEmpty)
        #expect(footer == SegmentSummary(blocks: 0, records: 0, series: 0, samples: 0, minTimestampMs: 0, maxTimestampMs: 0))
    }

    @Test func refusesUnorderedInput() throws {
        let encoder = try SegmentEncoder(compressionLevel: 1)
        _ = encoder.start()
        let labels = Labels(sorting: [Label("__name__", "x")])
        #expect(throws: ArchiveFormatError.self) {
            try encoder.append(labels: labels, samples: [Sample(timestampMs: 2, valueBits: 0), Sample(timestampMs: 2, valueBits: 0)])
        }
        let other = try SegmentEncoder(compressionLevel: 1)
        _ = other.start()
        _ = try other.append(labels: labels, samples: [Sample(timestampMs: 1, valueBits: 0)])
        _ = try other.append(labels: Labels(sorting: [Label("__name__", "y")]), samples: [Sample(timestampMs: 1, valueBits: 0)])
        #expect(throws: ArchiveFormatError.self) { try other.append(labels: labels, samples: [Sample(timestampMs: 5, valueBits: 0)]) }
    }
}

@Suite struct SegmentCorruptionTests {
    let bytes: [UInt8]

    init() throws {
        bytes = try encodeSegment([SegmentRoundTripTests.series("a", (0..<300).map { Double($0).bitPattern }),
                                   SegmentRoundTripTests.series("b", SegmentRoundTripTests.specialBits)])
    }

    func expectFailure(_ damaged: [UInt8], _ code: ArchiveFormatError.Code, _ fragment: String) {
        let error = #expect(throws: ArchiveFormatError.self) { _ = try decodeSegment(damaged) }
        #expect(error?.code == code, "\(error?.message ?? "")")
        #expect(error?.message.contains("test.pfs") == true)
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
    }

    @Test func everySingleByteFlipIsCaught() throws {
        // Every byte of the file is covered by a magic, a reserved-zero rule, the zstd checksum or the footer check.
        for index in 0..<bytes.count {
            var damaged = bytes
            damaged[index] ^= 0x10
            #expect(throws: ArchiveFormatError.self, "flip at byte \(index) went unnoticed") { _ = try decodeSegment(damaged) }
        }
    }

    @Test func truncationIsNamed() {
        expectFailure(Array(bytes.dropLast(1)), .truncated, "truncated")
        expectFailure(Array(bytes.prefix(30)), .truncated, "truncated")
        expectFailure(Array(bytes.prefix(SegmentLayout.fileHeaderSize)), .truncated, "truncated")
    }

    @Test func trailingDataIsRefused() {
        expectFailure(bytes + [0], .corrupt, "follows the footer")
    }

    @Test func aNewerVersionIsRefusedWithAnUpgradeHint() {
        var newer = bytes
        newer[8] = SegmentLayout.formatVersion + 1
        expectFailure(newer, .unsupportedVersion, "upgrade promferry")
    }

    @Test func anotherFileIsNotASegment() {
        expectFailure(Array("{\"hello\": \"json\"}".utf8), .badMagic, "not a promferry segment")
    }

    @Test func aBlockDeclaringAHugeSizeIsRefusedBeforeDecompressing() {
        var hostile = bytes
        // Uncompressed_Size of the first block (header 16 + magic 4 + compressed size 4).
        hostile[24] = 0xff; hostile[25] = 0xff; hostile[26] = 0xff; hostile[27] = 0x7f
        expectFailure(hostile, .limitExceeded, "over the limit")
    }
}

@Suite struct ManifestTests {
    static func manifest() -> Manifest {
        var m = Manifest(tool: .init(name: "t", version: "1"), createdAt: "2024-01-01T00:00:00Z",
                         source: .init(url: "http://x/api/v1/read", externalLabels: [:], droppedLabels: []),
                         selection: .init(selectors: ["up"], startMs: 0, endMs: 100, startArgument: "0", endArgument: "100"),
                         slabPlan: .init(slabDurationMs: 50, segmentTargetBytes: 1 << 20))
        m.slabs = [.init(index: 0, startMs: 0, endMs: 50, series: 1, samples: 1, segments: [
            .init(file: "segments/000000-0000.pfs", bytes: 10, sha256: String(repeating: "a", count: 64), summary: SegmentSummary())])]
        return m
    }

    @Test func acceptsAValidManifest() throws {
        try Self.manifest().validate()
        #expect(Self.manifest().resumePointMs == 50)
    }

    @Test(arguments: ["../escape.pfs", "segments/../../etc/passwd.pfs", "/etc/passwd", "segments/sub/x.pfs",
                      "segments/.hidden.pfs", "segments/x.txt", "segments/"])
    func refusesPathsOutsideTheSegmentsFolder(_ path: String) {
        var m = Self.manifest()
        m.slabs[0].segments[0].file = path
        #expect(throws: ArchiveFormatError.self) { try m.validate() }
    }

    /// Counts whose sums pass Int.max once trapped every tool that added them up (inspect, import).
    @Test func refusesCountsOutOfRangeOrSummingPastTheIntegerRange() {
        var huge = Self.manifest()
        huge.slabs[0].samples = Manifest.maxCount
        huge.slabs += (1..<1100).map { i in .init(index: i, startMs: 50 + Int64(i - 1), endMs: 51 + Int64(i - 1), series: 1,
                                                  samples: Manifest.maxCount, segments: []) }
        huge.selection.endMs = 50 + 1100
        let overflow = #expect(throws: ArchiveFormatError.self) { try huge.validate() }
        #expect(overflow?.message.contains("total overflow") == true, "\(String(describing: overflow))")

        for change in [{ (m: inout Manifest) in m.slabs[0].samples = -1 }, { m in m.slabs[0].samples = Int.max },
                       { m in m.slabs[0].segments[0].bytes = Int.max }, { m in m.slabs[0].segments[0].samples = -5 }] {
            var m = Self.manifest()
            change(&m)
            let error = #expect(throws: ArchiveFormatError.self) { try m.validate() }
            #expect(error?.message.contains("outside 0...2^53") == true, "\(String(describing: error))")
        }
    }

    @Test func refusesGapsDuplicatesAndFutureVersions() {
        var gap = Self.manifest()
        gap.slabs.append(.init(index: 1, startMs: 60, endMs: 100, series: 0, samples: 0, segments: []))
        #expect(throws: ArchiveFormatError.self) { try gap.validate() }

        var duplicate = Self.manifest()
        duplicate.slabs.append(.init(index: 1, startMs: 50, endMs: 100, series: 0, samples: 0, segments: duplicate.slabs[0].segments))
        #expect(throws: ArchiveFormatError.self) { try duplicate.validate() }

        var future = Self.manifest()
        future.formatVersion = Manifest.highestSupportedVersion + 1
        let error = #expect(throws: ArchiveFormatError.self) { try future.validate() }
        #expect(error?.code == .unsupportedVersion)

        var falselyComplete = Self.manifest()
        falselyComplete.complete = true
        #expect(throws: ArchiveFormatError.self) { try falselyComplete.validate() }
    }
}
