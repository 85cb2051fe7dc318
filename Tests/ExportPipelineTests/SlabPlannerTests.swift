@testable import ExportPipeline
import Testing
import PrometheusWire
import RemoteStorageClient

@Suite struct SlabPlannerTests {
    func planner(rangeEndMs: Int64, widthMs: Int64) -> SlabPlanner {
        SlabPlanner(rangeEndMs: rangeEndMs, sizer: SlabSizer(initialWidthMs: widthMs, maxWidthMs: widthMs, budgetBytes: 1 << 20))
    }

    func plan(_ planner: SlabPlanner, from startMs: Int64) -> [(startMs: Int64, endMs: Int64)] {
        var slabs: [(Int64, Int64)] = []
        var cursor = startMs
        while let next = planner.slab(startingAt: cursor) {
            slabs.append(next)
            cursor = next.endMs
        }
        return slabs
    }

    @Test func cutsHalfOpenSlabsWithAShortLastOne() {
        let slabs = plan(planner(rangeEndMs: 10_500, widthMs: 3000), from: 1000)
        #expect(slabs.map(\.startMs) == [1000, 4000, 7000, 10_000])
        #expect(slabs.map(\.endMs) == [4000, 7000, 10_000, 10_500])
    }

    @Test func isDoneAtTheRangeEnd() {
        let planner = planner(rangeEndMs: 5000, widthMs: 1000)
        #expect(planner.slab(startingAt: 5000) == nil)
        #expect(plan(planner, from: 6000).isEmpty)
    }

    @Test func oneSlabWhenTheRangeIsNarrower() {
        #expect(plan(planner(rangeEndMs: 100, widthMs: 3_600_000), from: 0).map(\.endMs) == [100])
    }

    @Test func doesNotOverflowNearTheEndOfTime() {
        #expect(planner(rangeEndMs: .max, widthMs: .max / 2 + 10).slab(startingAt: .max - 5)?.endMs == .max)
    }
}

@Suite struct SlabSizerTests {
    /// Budget 1000 bytes: the target region is [500, 800].
    func sizer(initial: Int64 = 100, max: Int64 = 1000) -> SlabSizer {
        SlabSizer(initialWidthMs: initial, maxWidthMs: max, budgetBytes: 1000)
    }

    @Test func growsAdditivelyBelowTheRegionUpToTheMaximum() {
        var sizer = sizer(max: 350)
        var widths: [Int64] = []
        for _ in 0..<4 {
            #expect(sizer.observe(peakBytes: 100, readWidthMs: sizer.widthMs, scalesWithWidth: false) == .grew)
            widths.append(sizer.widthMs)
        }
        #expect(widths == [200, 300, 350, 350])
    }

    @Test func holdsInsideTheRegionAndHalvesAboveIt() {
        var sizer = sizer(initial: 400)
        #expect(sizer.observe(peakBytes: 600, readWidthMs: 400, scalesWithWidth: false) == .held)
        #expect(sizer.widthMs == 400)
        #expect(sizer.observe(peakBytes: 900, readWidthMs: 400, scalesWithWidth: false) == .halved)
        #expect(sizer.widthMs == 200)
    }

    @Test func predictsFromDensityWhenTheReplyGrowsWithTheSlab() {
        // 100 bytes over 100 ms: 1 byte/ms, so 800 ms reach the top of the region; growing stops there.
        var sizer = sizer(initial: 100, max: 5000)
        var widths: [Int64] = []
        for _ in 0..<10 {
            sizer.observe(peakBytes: Int(sizer.widthMs), readWidthMs: sizer.widthMs, scalesWithWidth: true)
            widths.append(sizer.widthMs)
        }
        #expect(widths == [200, 300, 400, 500, 500, 500, 500, 500, 500, 500])
        // A denser stretch (4 bytes/ms at 500 ms = 2000 bytes) halves and is capped by the prediction: 200 ms.
        #expect(sizer.observe(peakBytes: 2000, readWidthMs: 500, scalesWithWidth: true) == .halved)
        #expect(sizer.widthMs == 200)
    }

    @Test func anOverrunHalvesTheReadThatOverranAndStopsGrowthThere() {
        var sizer = sizer(initial: 800)
        sizer.overran(readWidthMs: 400)
        #expect(sizer.widthMs == 200)
        #expect(sizer.observe(peakBytes: 1, readWidthMs: 200, scalesWithWidth: false) == .grew)
        #expect(sizer.widthMs == 200)
        sizer.overran(readWidthMs: 1)
        #expect(sizer.widthMs == 1)
    }
}

@Suite struct FirstSlabWidthTests {
    static let hour: Int64 = 3_600_000

    func configuration(hours: Int64, concurrency: Int, slab: Int64 = hour, maxSlab: Int64 = 24 * hour,
                       spreads: Bool = true) -> ExportConfiguration {
        var configuration = ExportConfiguration(
            source: EndpointConfiguration(url: "/blocks"), selectors: [.everySeries], startMs: 5 * Self.hour,
            endMs: (5 + hours) * Self.hour, startArgument: "", endArgument: "", slabWidthMs: slab, maxSlabWidthMs: maxSlab,
            concurrency: concurrency, archivePath: "/archive")
        configuration.spreadsFirstSlabs = spreads
        return configuration
    }

    @Test func theRangeIsSharedAmongTheReadsInWholeSteps() {
        #expect(configuration(hours: 48, concurrency: 4).firstSlabWidthMs == 12 * Self.hour)
        #expect(configuration(hours: 50, concurrency: 4).firstSlabWidthMs == 13 * Self.hour)
        #expect(configuration(hours: 48, concurrency: 4, slab: 5 * Self.hour).firstSlabWidthMs == 15 * Self.hour)
        #expect(configuration(hours: 24, concurrency: 1).firstSlabWidthMs == 24 * Self.hour)
    }

    @Test func staysBetweenTheStepAndTheWidestSlab() {
        #expect(configuration(hours: 720, concurrency: 4).firstSlabWidthMs == 24 * Self.hour)
        #expect(configuration(hours: 720, concurrency: 4, maxSlab: 30 * Self.hour + 1).firstSlabWidthMs == 30 * Self.hour + 1)
        #expect(configuration(hours: 2, concurrency: 4).firstSlabWidthMs == Self.hour)
        // Fixed slabs (--max-slab equal to --slab, as --shard-by series requires) stay fixed.
        #expect(configuration(hours: 48, concurrency: 4, maxSlab: Self.hour).firstSlabWidthMs == Self.hour)
    }

    @Test func otherSourcesStartAtTheStep() {
        #expect(configuration(hours: 48, concurrency: 4, spreads: false).firstSlabWidthMs == Self.hour)
    }
}
