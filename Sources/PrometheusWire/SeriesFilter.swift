/// Which samples of an archive are replayed, and how their labels change on the way.
///
/// Matching uses the labels as archived; then `dropLabels` are removed and `addLabels` set (an added
/// label replaces an archived one of the same name). Labels with empty values are removed, as the
/// remote-write spec requires.
public struct SeriesFilter: Sendable {
    /// A series is replayed when it matches any selector; no selectors means every series.
    public var selectors: [SeriesSelector]
    /// Half-open time range; nil bounds are open.
    public var startMs: Int64?
    public var endMs: Int64?
    public var addLabels: [Label]
    public var dropLabels: Set<String>
    /// What becomes of native histograms (`--histograms`).
    public var histograms = HistogramHandling.keep
    /// Only the series whose labels, as sent (after `dropLabels` and `addLabels`), fall to this part
    /// (`prom-import --shard`): series that relabelling makes one stay in one part.
    public var shard: Shard?
    private let regexes: [String: LabelRegex]

    public init(selectors: [SeriesSelector] = [], startMs: Int64? = nil, endMs: Int64? = nil,
                addLabels: [Label] = [], dropLabels: Set<String> = []) throws {
        self.selectors = selectors
        self.startMs = startMs
        self.endMs = endMs
        self.addLabels = addLabels
        self.dropLabels = dropLabels
        var regexes: [String: LabelRegex] = [:]
        for matcher in selectors.flatMap(\.matchers) where matcher.type == .regexMatch || matcher.type == .regexNoMatch {
            do {
                // Anchored like Prometheus: ^(?s:re)$.
                regexes[matcher.value] = try LabelRegex(matcher.value)
            } catch {
                throw SeriesSelector.ParseError(text: matcher.description, column: 1, reason: "invalid regular expression")
            }
        }
        self.regexes = regexes
    }

    /// Every sample, labels unchanged.
    public static var all: SeriesFilter {
        // No selectors means no regular expression to compile, so this cannot throw.
        try! SeriesFilter()
    }

    public var isIdentity: Bool {
        selectors.isEmpty && startMs == nil && endMs == nil && addLabels.isEmpty && dropLabels.isEmpty && histograms == .keep && shard == nil
    }

    public func matches(_ labels: Labels) -> Bool {
        selected(labels) && shard.map { $0.owns(relabel(labels)) } ?? true
    }

    /// Whether some selector matches `labels` (the shard aside).
    private func selected(_ labels: Labels) -> Bool {
        selectors.isEmpty || selectors.contains { selector in selector.matchers.allSatisfy { matches($0, labels) } }
    }

    func matches(_ matcher: LabelMatcher, _ labels: Labels) -> Bool {
        matches(matcher, value: labels[matcher.name] ?? "")
    }

    /// Whether a label holding `value` satisfies `matcher`, one of this filter's selectors' matchers
    /// (an absent label holds ""). A regular expression not among them never matches.
    public func matches(_ matcher: LabelMatcher, value: String) -> Bool {
        switch matcher.type {
        case .equal: return value == matcher.value
        case .notEqual: return value != matcher.value
        case .regexMatch, .regexNoMatch:
            let found = regexes[matcher.value]?.matches(value) ?? false
            return (matcher.type == .regexMatch) == found
        }
    }

    /// The series as it is to be sent, or nil when nothing of it is selected.
    public func apply(_ series: Series) -> Series? {
        // Relabelled once: the shard is a function of the labels as sent.
        guard selected(series.labels) else { return nil }
        let labels = relabel(series.labels)
        guard shard.map({ $0.owns(labels) }) ?? true else { return nil }
        var samples = series.samples, starts = series.sampleStartTimestampsMs
        let dropHistograms = self.histograms == .drop
        var histograms = dropHistograms ? [] : series.histograms
        if dropHistograms && samples.isEmpty { return nil }
        if startMs != nil || endMs != nil {
            let lower = startMs ?? .min, upper = endMs ?? .max
            (samples, starts) = series.floats { $0 >= lower && $0 < upper }
            histograms = histograms.filter { $0.timestampMs >= lower && $0.timestampMs < upper }
            if samples.isEmpty && histograms.isEmpty { return nil }
        }
        return Series(labels: labels, samples: samples, histograms: histograms, sampleStartTimestampsMs: starts)
    }

    /// How many native histograms of `series` `apply` leaves out under `.drop` (those of a selected
    /// series inside the time range).
    public func droppedHistograms(of series: Series) -> Int {
        guard histograms == .drop, !series.histograms.isEmpty, matches(series.labels) else { return 0 }
        let lower = startMs ?? .min, upper = endMs ?? .max
        return series.histograms.count { $0.timestampMs >= lower && $0.timestampMs < upper }
    }

    /// `selected` (what `apply` returned) as the target receives it, piece by piece: under `.classic`
    /// its float samples, then its histograms as classic series (`ClassicHistograms`), about
    /// `samplesPerPiece` classic samples at a time; otherwise `selected` itself, whole.
    public func pieces(of selected: Series, samplesPerPiece: Int = 65536) -> OutputPieces {
        guard histograms == .classic, !selected.histograms.isEmpty else {
            return OutputPieces(whole: selected, histograms: [], converter: nil, samplesPerPiece: samplesPerPiece)
        }
        let floats = Series(labels: selected.labels, samples: selected.samples, sampleStartTimestampsMs: selected.sampleStartTimestampsMs)
        return OutputPieces(whole: selected.samples.isEmpty ? nil : floats,
                            histograms: selected.histograms[...], converter: ClassicHistograms(labels: selected.labels),
                            samplesPerPiece: samplesPerPiece)
    }

    public func relabel(_ labels: Labels) -> Labels {
        guard !addLabels.isEmpty || !dropLabels.isEmpty || labels.labels.contains(where: { $0.value.isEmpty }) else { return labels }
        let added = Set(addLabels.map(\.name))
        var kept = labels.labels.filter { !dropLabels.contains($0.nameString) && !added.contains($0.name) && !$0.value.isEmpty }
        kept += addLabels.filter { !$0.value.isEmpty }
        return Labels(sorting: kept)
    }
}

/// What `prom-import` and `prom-archive cat` do with native histograms (`--histograms`).
public enum HistogramHandling: String, Sendable, CaseIterable {
    /// Send them as they are.
    case keep
    /// Write them as classic `_bucket{le=…}`, `_count` and `_sum` series (`ClassicHistograms`).
    case classic
    /// Leave them out, counted.
    case drop
}

/// The pieces `SeriesFilter.pieces(of:)` cuts a selected series into; each piece is a few series,
/// every one of them in time order, and the pieces follow one another in time for each series.
public struct OutputPieces {
    var whole: Series?
    var histograms: ArraySlice<HistogramSample>
    var converter: ClassicHistograms?
    let samplesPerPiece: Int
    /// Native histograms written in classic form so far.
    public private(set) var histogramsConverted = 0

    public mutating func next() throws(ClassicHistograms.Unconvertible) -> [Series]? {
        if let piece = whole {
            whole = nil
            return [piece]
        }
        guard !histograms.isEmpty, converter != nil else { return nil }
        var end = histograms.startIndex, samples = 0
        while end < histograms.endIndex && (end == histograms.startIndex || samples < samplesPerPiece) {
            samples += ClassicHistograms.samplesPerHistogram(histograms[end])
            end += 1
        }
        let piece = try converter!.convert(histograms[..<end])
        histogramsConverted += end - histograms.startIndex
        histograms = histograms[end...]
        return piece
    }
}

extension SeriesFilter: CustomStringConvertible {
    /// A canonical description, recorded in the journal to recognise the same import.
    public var description: String {
        var parts = ["match=" + (selectors.isEmpty ? "*" : selectors.map(\.description).joined(separator: " or "))]
        if let startMs { parts.append("start=\(startMs)") }
        if let endMs { parts.append("end=\(endMs)") }
        if !dropLabels.isEmpty { parts.append("drop=" + dropLabels.sorted().joined(separator: ",")) }
        if !addLabels.isEmpty { parts.append("add=" + addLabels.map { "\($0.nameString)=\($0.valueString)" }.joined(separator: ",")) }
        if histograms != .keep { parts.append("histograms=\(histograms.rawValue)") }
        if let shard { parts.append("shard=\(shard)") }
        return parts.joined(separator: " ")
    }
}
