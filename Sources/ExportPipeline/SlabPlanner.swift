/// Cuts the requested range into consecutive half-open slabs `[startMs, endMs)`.
///
/// Pure: the next slab depends only on where the previous one ended, the current width and the
/// range end. The width may change between slabs (halving on a sample-limit answer today,
/// memory-driven sizing later); the manifest records each slab's actual bounds, so resume does not
/// depend on the width.
public struct SlabPlanner: Sendable, Equatable {
    public let rangeEndMs: Int64
    public private(set) var widthMs: Int64

    public init(rangeEndMs: Int64, widthMs: Int64) {
        precondition(widthMs > 0, "slab width must be positive")
        self.rangeEndMs = rangeEndMs
        self.widthMs = widthMs
    }

    /// The slab that starts at `startMs`, or nil when the range is done.
    public func slab(startingAt startMs: Int64) -> (startMs: Int64, endMs: Int64)? {
        guard startMs < rangeEndMs else { return nil }
        let (sum, overflow) = startMs.addingReportingOverflow(widthMs)
        return (startMs, overflow ? rangeEndMs : min(sum, rangeEndMs))
    }

    /// Halves the width for the next attempt; false when a slab cannot get any narrower (1 ms).
    public mutating func halve() -> Bool {
        guard widthMs > 1 else { return false }
        widthMs /= 2
        return true
    }

    /// Every slab of `[startMs, rangeEnd)` at the current width; used for progress and dry runs.
    public func plan(from startMs: Int64) -> [(startMs: Int64, endMs: Int64)] {
        var slabs: [(Int64, Int64)] = []
        var cursor = startMs
        while let next = slab(startingAt: cursor) {
            slabs.append(next)
            cursor = next.endMs
        }
        return slabs
    }
}
