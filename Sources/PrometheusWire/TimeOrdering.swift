/// Something with a timestamp: a float sample or a histogram sample.
public protocol Timestamped {
    var timestampMs: Int64 { get }
}

extension Sample: Timestamped {}
extension HistogramSample: Timestamped {}

/// How samples gathered from several chunks (which may overlap, or reach outside the range read)
/// become one series' samples: the same rule for remote-read replies and for TSDB blocks.
public enum TimeOrdering {
    /// Drops the items from `first` on whose timestamps `keep` rejects, keeping the rest in order,
    /// and clears `sorted` unless they continue the strictly increasing run before them.
    @inlinable
    public static func keep<T: Timestamped>(_ items: inout [T], from first: Int, sorted: inout Bool, where keep: (Int64) -> Bool) {
        var stillSorted = sorted
        let kept = items.withUnsafeMutableBufferPointer { buffer -> Int in
            var last = first > 0 ? buffer[first - 1].timestampMs : Int64.min
            var kept = first
            for i in first..<buffer.count {
                let item = buffer[i]
                guard keep(item.timestampMs) else { continue }
                if item.timestampMs <= last { stillSorted = false }
                last = item.timestampMs
                buffer[kept] = item
                kept += 1
            }
            return kept
        }
        items.removeSubrange(kept...)
        sorted = stillSorted
    }

    /// `items` in timestamp order with the first of any duplicate timestamp kept.
    public static func ordered<T: Timestamped>(_ items: [T], sorted: Bool) -> [T] {
        // Strictly increasing: no duplicates to drop, and the buffer is handed over as it is.
        if sorted { return items }
        // Stable sort keeps the first of equal timestamps first.
        let indexed = items.enumerated().sorted { ($0.element.timestampMs, $0.offset) < ($1.element.timestampMs, $1.offset) }
        var unique: [T] = []
        unique.reserveCapacity(items.count)
        for (_, item) in indexed where unique.last?.timestampMs != item.timestampMs { unique.append(item) }
        return unique
    }
}
