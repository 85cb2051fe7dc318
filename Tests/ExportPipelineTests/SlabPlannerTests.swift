@testable import ExportPipeline
import Testing

@Suite struct SlabPlannerTests {
    @Test func cutsHalfOpenSlabsWithAShortLastOne() {
        let planner = SlabPlanner(rangeEndMs: 10_500, widthMs: 3000)
        let slabs = planner.plan(from: 1000)
        #expect(slabs.map(\.startMs) == [1000, 4000, 7000, 10_000])
        #expect(slabs.map(\.endMs) == [4000, 7000, 10_000, 10_500])
    }

    @Test func isDoneAtTheRangeEnd() {
        let planner = SlabPlanner(rangeEndMs: 5000, widthMs: 1000)
        #expect(planner.slab(startingAt: 5000) == nil)
        #expect(planner.plan(from: 6000).isEmpty)
    }

    @Test func oneSlabWhenTheRangeIsNarrower() {
        let planner = SlabPlanner(rangeEndMs: 100, widthMs: 3_600_000)
        #expect(planner.plan(from: 0).map(\.endMs) == [100])
    }

    @Test func doesNotOverflowNearTheEndOfTime() {
        let planner = SlabPlanner(rangeEndMs: .max, widthMs: .max / 2 + 10)
        #expect(planner.slab(startingAt: .max - 5)?.endMs == .max)
    }

    @Test func halvesDownToOneMillisecond() {
        var planner = SlabPlanner(rangeEndMs: 100, widthMs: 4)
        var results: [Bool] = []
        var widths: [Int64] = []
        for _ in 0..<3 {
            results.append(planner.halve())
            widths.append(planner.widthMs)
        }
        #expect(results == [true, true, false])
        #expect(widths == [2, 1, 1])
    }
}
