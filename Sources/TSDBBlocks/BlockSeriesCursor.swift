import PrometheusWire

/// The series of one block that may match a selector and have a chunk in `[startMs, endMs)`, in
/// the index's order (sorted by labels), read one at a time.
///
/// Candidates come from the postings of the selector's selective matchers (those that reject the
/// empty value and do not accept every value the block has), intersected; without any, from the
/// list of all series, streamed through a window. Every candidate is still checked against all
/// matchers by the caller, so the postings only ever narrow the search.
struct BlockSeriesCursor {
    struct Entry {
        var labels: Labels
        var ref: UInt32
        var chunks: [IndexReader.ChunkMeta]
    }

    let block: Block
    private let startMs: Int64
    private let endMs: Int64
    private var symbols: IndexReader.Symbols
    private var seriesWindow: FileWindow
    /// Where this cursor's chunk reads stand in the block's chunk files.
    var chunkCursor = ChunkFiles.Cursor()
    private var candidates: Candidates
    private var previous: Labels?

    private enum Candidates {
        case list([UInt32], next: Int)
        case stream(WindowCursor, left: Int)
        case none
    }

    init(block: Block, matchers: [LabelMatcher], filter: SeriesFilter, startMs: Int64, endMs: Int64) throws {
        self.block = block
        self.startMs = startMs
        self.endMs = endMs
        symbols = IndexReader.Symbols(block.index)
        seriesWindow = block.index.seriesWindow()
        let index = block.index
        let external = Set(block.externalLabels.map(\.name))
        var lists: [[UInt32]] = []
        for matcher in matchers {
            let name = Array(matcher.name.utf8)
            // A label the block adds (Thanos') may be absent from its index: no narrowing by it.
            guard !external.contains(name), !filter.matches(matcher, value: "") else { continue }
            var acceptedAll = true
            let offsets = try index.postingsOffsets(name: name) { value in
                let accepted = filter.matches(matcher, value: String(decoding: value, as: UTF8.self))
                if !accepted { acceptedAll = false }
                return accepted
            }
            // Every value accepted (e.g. __name__=~".+"): all series with the name; the full list is no wider in practice.
            if acceptedAll && !offsets.isEmpty { continue }
            var union: [UInt32] = []
            for offset in offsets { union += try index.postings(at: offset) }
            if offsets.count > 1 {
                union.sort()
                union = union.enumerated().compactMap { $0.offset > 0 && union[$0.offset - 1] == $0.element ? nil : $0.element }
            }
            lists.append(union)
        }
        if let first = lists.first {
            candidates = .list(lists.dropFirst().reduce(first, Self.intersection), next: 0)
        } else if let all = index.allPostingsOffset {
            let (start, end) = try IndexReader.checkedSection(index.file, at: all, name: "list of all series")
            var cursor = WindowCursor(file: index.file, from: start, to: end, section: "list of all series")
            let count = Int(try cursor.be32())
            guard count * 4 == cursor.remaining else {
                throw TSDBError(.corrupt, "\(index.file.path): the list of all series claims \(count) entries in \(cursor.remaining) bytes")
            }
            candidates = .stream(cursor, left: count)
        } else {
            candidates = .none
        }
    }

    private mutating func nextCandidate() throws -> UInt32? {
        switch candidates {
        case .list(let refs, let next):
            guard next < refs.count else { return nil }
            candidates = .list(refs, next: next + 1)
            return refs[next]
        case .stream(var cursor, let left):
            guard left > 0 else { return nil }
            let ref = try cursor.be32()
            candidates = .stream(cursor, left: left - 1)
            return ref
        case .none:
            return nil
        }
    }

    /// The next series with a chunk in the range, or nil at the end. Labels must increase: an index
    /// whose series are out of order is corrupt (merging blocks relies on the order).
    mutating func next() throws -> Entry? {
        while let ref = try nextCandidate() {
            let (labels, chunks) = try block.index.series(ref, symbols: &symbols, window: &seriesWindow)
            if let previous, !(previous < labels) {
                throw TSDBError(.corrupt, "\(block.index.file.path): series \(labels) follows \(previous); the index is not sorted")
            }
            previous = labels
            let inRange = chunks.filter { $0.maxTimeMs >= startMs && $0.minTimeMs < endMs }
            if !inRange.isEmpty { return Entry(labels: labels, ref: ref, chunks: inRange) }
        }
        return nil
    }

    static func intersection(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i] < b[j] { i += 1 } else if b[j] < a[i] { j += 1 } else { result.append(a[i]); i += 1; j += 1 }
        }
        return result
    }
}
