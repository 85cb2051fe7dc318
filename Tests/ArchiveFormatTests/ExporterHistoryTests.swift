import ArchiveFormat
import PeerHarness
import PrometheusWire
import Testing

/// The benchmark's exporter-shaped data set must have the properties the archive-size work is judged
/// on (shared scrape timestamps, constants, resets, churn), and must round-trip through a segment.
@Suite struct ExporterHistoryTests {
    static let hourMs: Int64 = 3_600_000
    static let history = ExporterHistory(seriesCount: 300, startMs: 1_700_000_000_000, endMs: 1_700_000_000_000 + 8 * hourMs)
    static let series = history.series()

    @Test func isTheSameOnEveryRun() {
        #expect(Self.history.series() == Self.series)
        #expect(ExporterHistory(seriesCount: 300, startMs: Self.history.startMs, endMs: Self.history.endMs, seed: 8).series() != Self.series)
    }

    @Test func seriesOfOneTargetShareEveryTimestamp() throws {
        let byInstance = Dictionary(grouping: Self.series, by: { $0.labels["instance"] ?? "" })
        #expect(byInstance.count >= 6)
        for (instance, members) in byInstance {
            let times = members[0].samples.map(\.timestampMs)
            #expect(members.allSatisfy { $0.samples.map(\.timestampMs) == times }, "target \(instance)")
        }
        // Scrapes are regular but not perfect: some are late by a few milliseconds, some are missed.
        let intervals = Set(byInstance.values.flatMap { members in
            zip(members[0].samples.dropFirst(), members[0].samples).map { $0.timestampMs - $1.timestampMs }
        })
        #expect(intervals.contains(15_000) && intervals.contains(30_000) && intervals.contains(60_000))
        #expect(intervals.contains { $0 % 1000 != 0 })
    }

    @Test func holdsConstantsResetsAndChurn() throws {
        let constant = Self.series.filter { s in s.samples.allSatisfy { $0.valueBits == s.samples[0].valueBits } }
        #expect(constant.count * 3 > Self.series.count, "\(constant.count) of \(Self.series.count) series are constant")
        let resets = Self.series.filter { s in
            s.labels.metricName!.hasSuffix("_total") && zip(s.samples.dropFirst(), s.samples).contains { $0.value < $1.value }
        }
        #expect(!resets.isEmpty)
        let churned = Self.series.filter {
            $0.samples.first!.timestampMs > Self.history.startMs + Self.hourMs || $0.samples.last!.timestampMs < Self.history.endMs - Self.hourMs
        }
        #expect(!churned.isEmpty)
    }

    @Test func roundTripsThroughASegmentBitForBit() throws {
        let sorted = Self.series.sorted { $0.labels < $1.labels }
        let encoder = try SegmentEncoder(compressionLevel: 3)
        var bytes = encoder.start()
        for s in sorted { bytes += try encoder.append(labels: s.labels, samples: s.samples[...]) }
        bytes += try encoder.finish()
        var decoder = SegmentDecoder(name: "exporter.pfs", source: MemoryByteSource(bytes))
        var back: [Series] = []
        while let block = try decoder.nextBlock() { back += block }
        #expect(back.sorted { $0.labels < $1.labels } == sorted)
    }
}
