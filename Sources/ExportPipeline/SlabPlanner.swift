/// Cuts the requested range into consecutive half-open slabs `[startMs, endMs)`, each as wide as the
/// sizer says at the moment it is cut.
///
/// The next slab depends only on where the previous one ended, the sizer's width and the range end.
/// Widths change between slabs (see `SlabSizer`); the manifest records each slab's actual bounds, so
/// resume does not depend on them.
public struct SlabPlanner: Sendable, Equatable {
    public let rangeEndMs: Int64
    public var sizer: SlabSizer

    public init(rangeEndMs: Int64, sizer: SlabSizer) {
        self.rangeEndMs = rangeEndMs
        self.sizer = sizer
    }

    public var widthMs: Int64 { sizer.widthMs }

    /// The slab that starts at `startMs`, or nil when the range is done.
    public func slab(startingAt startMs: Int64) -> (startMs: Int64, endMs: Int64)? {
        guard startMs < rangeEndMs else { return nil }
        let (sum, overflow) = startMs.addingReportingOverflow(widthMs)
        return (startMs, overflow ? rangeEndMs : min(sum, rangeEndMs))
    }
}
