import ArchiveFormat
import Foundation
import PrometheusWire
import Testing

/// The worked example of formats/segment-v1.md must decode to what the spec says it holds.
@Suite struct GoldenVectorTests {
    static let vector = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../formats/test-vectors/example-v1.pfs").standardized

    @Test func theSpecExampleDecodesAsDocumented() throws {
        let bytes = Array(try Data(contentsOf: Self.vector))
        #expect(bytes.count == 168)
        let (series, footer) = try decodeSegment(bytes)
        #expect(series == [
            Series(labels: Labels(sorting: [Label("__name__", "up"), Label("job", "node")]),
                   samples: [Sample(timestampMs: 1_700_000_000_000, value: 1), Sample(timestampMs: 1_700_000_015_000, value: 1),
                             Sample(timestampMs: 1_700_000_030_001, value: 0.5)]),
            Series(labels: Labels(sorting: [Label("__name__", "x")]),
                   samples: [Sample(timestampMs: 1_700_000_000_000, valueBits: Sample.staleNaNBits),
                             Sample(timestampMs: 1_700_000_015_000, valueBits: 0x8000_0000_0000_0000)]),
        ])
        #expect(footer?.samples == 5)
    }
}
