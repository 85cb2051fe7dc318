import ArchiveFormat
import Foundation
import PrometheusWire
import Testing

/// The worked examples of formats/segment-v2.md must decode to what the spec says they hold.
@Suite struct GoldenVectorTests {
    static func vector(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../formats/test-vectors/\(name)").standardized))
    }

    static let up = Labels(sorting: [Label("__name__", "up"), Label("job", "node")])

    @Test func theVersion1ExampleDecodesAsDocumented() throws {
        let bytes = try Self.vector("example-v1.pfs")
        #expect(bytes.count == 168)
        let (series, footer) = try decodeSegment(bytes)
        #expect(series == [
            Series(labels: Self.up,
                   samples: [Sample(timestampMs: 1_700_000_000_000, value: 1), Sample(timestampMs: 1_700_000_015_000, value: 1),
                             Sample(timestampMs: 1_700_000_030_001, value: 0.5)]),
            Series(labels: Labels(sorting: [Label("__name__", "x")]),
                   samples: [Sample(timestampMs: 1_700_000_000_000, valueBits: Sample.staleNaNBits),
                             Sample(timestampMs: 1_700_000_015_000, valueBits: 0x8000_0000_0000_0000)]),
        ])
        #expect(footer?.samples == 5)
    }

    static let version2Example = [Series(labels: up, samples: [
        Sample(timestampMs: 1_700_000_000_000, value: 1), Sample(timestampMs: 1_700_000_015_000, value: 1),
        Sample(timestampMs: 1_700_000_030_000, value: 0.5), Sample(timestampMs: 1_700_000_045_000, valueBits: Sample.staleNaNBits),
    ])]

    @Test func theVersion2ExampleDecodesAsDocumented() throws {
        let bytes = try Self.vector("example-v2.pfs")
        #expect(bytes[8] == 2)
        let (series, footer) = try decodeSegment(bytes)
        #expect(series == Self.version2Example)
        #expect(footer?.samples == 4)
        // The documented payload: the encoder writes the same record, and the file holds it.
        #expect(try encodeSegment(Self.version2Example, level: 19) == bytes)
    }
}
