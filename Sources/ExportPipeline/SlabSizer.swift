/// Chooses the width of the next slab to read: additive increase, multiplicative decrease (AIMD)
/// around a memory target, so that reads stay under `--max-memory` without being needlessly small.
///
/// After each read the sizer sees what the read held in memory at its peak (`observe`). Below the
/// target region (under `lowFraction` of the budget) the width grows by `stepMs`; above it (over
/// `highFraction`) the width halves; inside it, the width stays. When the reply's size grows with the
/// slab (SAMPLES replies are buffered whole), the width is also capped by a prediction from the
/// density just seen, so that the next read is expected to land inside the region rather than over
/// the budget. A read that overran the budget anyway was abandoned by the client and is re-read in
/// halves; `overran` halves the width for the reads that follow and lowers the ceiling to it, so that
/// additive growth does not walk back into a width the source or the budget already refused.
///
/// Invariant: `minWidthMs <= widthMs <= maxWidthMs`.
public struct SlabSizer: Sendable, Equatable {
    public private(set) var widthMs: Int64
    public let stepMs: Int64
    public let minWidthMs: Int64
    public private(set) var maxWidthMs: Int64
    /// Bytes one read may hold.
    public private(set) var budgetBytes: Int
    public let lowFraction: Double
    public let highFraction: Double

    public init(initialWidthMs: Int64, stepMs: Int64? = nil, minWidthMs: Int64 = 1, maxWidthMs: Int64,
                budgetBytes: Int, lowFraction: Double = 0.5, highFraction: Double = 0.8) {
        precondition(initialWidthMs > 0 && minWidthMs > 0 && maxWidthMs >= minWidthMs && budgetBytes > 0)
        self.minWidthMs = minWidthMs
        self.maxWidthMs = maxWidthMs
        self.widthMs = min(max(initialWidthMs, minWidthMs), maxWidthMs)
        self.stepMs = max(1, stepMs ?? initialWidthMs)
        self.budgetBytes = budgetBytes
        self.lowFraction = lowFraction
        self.highFraction = highFraction
    }

    /// The region where the width is left alone, in bytes.
    public var targetRegion: ClosedRange<Int> {
        Int(Double(budgetBytes) * lowFraction)...Int(Double(budgetBytes) * highFraction)
    }

    /// What changed, for progress and tests.
    public enum Adjustment: Sendable, Equatable {
        case grew, held, halved, capped
    }

    /// Takes in a completed read of `readWidthMs` that held `peakBytes` at its peak.
    /// `scalesWithWidth` says whether the peak grows with the slab (a buffered SAMPLES reply) or
    /// not (a streamed reply, whose peak is one frame and one series).
    @discardableResult
    public mutating func observe(peakBytes: Int, readWidthMs: Int64, scalesWithWidth: Bool) -> Adjustment {
        var adjustment: Adjustment
        if peakBytes > targetRegion.upperBound {
            widthMs = max(minWidthMs, widthMs / 2)
            adjustment = .halved
        } else if peakBytes < targetRegion.lowerBound {
            let (sum, overflow) = widthMs.addingReportingOverflow(stepMs)
            widthMs = overflow ? maxWidthMs : min(maxWidthMs, sum)
            adjustment = .grew
        } else {
            adjustment = .held
        }
        if scalesWithWidth, peakBytes > 0, readWidthMs > 0 {
            // Predict the next read's peak from this one's density and keep it inside the region.
            let bytesPerMs = Double(peakBytes) / Double(readWidthMs)
            let predictedLimit = Int64(Double(targetRegion.upperBound) / bytesPerMs)
            if predictedLimit < widthMs {
                widthMs = max(minWidthMs, predictedLimit)
                if adjustment != .halved { adjustment = .capped }
            }
        }
        return adjustment
    }

    /// Each read may hold `bytes` from now on (fewer reads in flight share the memory): the target
    /// region moves with it, and the width adapts from the next observation.
    public mutating func rebudget(_ bytes: Int) {
        precondition(bytes > 0)
        budgetBytes = bytes
    }

    /// A read of `readWidthMs` was abandoned as over budget or refused by the source as too large;
    /// reads that follow use at most half of it, for the rest of the run.
    public mutating func overran(readWidthMs: Int64) {
        maxWidthMs = max(minWidthMs, min(maxWidthMs, readWidthMs / 2))
        widthMs = min(widthMs, maxWidthMs)
    }
}
