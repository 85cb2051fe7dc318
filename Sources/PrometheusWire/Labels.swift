/// One label, kept as the exact bytes received: no Unicode normalisation or repair ever happens.
public struct Label: Hashable, Sendable {
    public var name: [UInt8]
    public var value: [UInt8]

    public init(name: [UInt8], value: [UInt8]) {
        self.name = name
        self.value = value
    }

    public init(_ name: String, _ value: String) {
        self.name = Array(name.utf8)
        self.value = Array(value.utf8)
    }

    /// Hashes each byte run at once: the synthesized conformance fed the hasher one byte at a time,
    /// which was 6% of an export's CPU (series are hashed when a slab, a segment and the assembler
    /// check that each appears once).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name.count)
        name.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(value.count)
        value.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public var nameString: String { String(decoding: name, as: UTF8.self) }
    public var valueString: String { String(decoding: value, as: UTF8.self) }
}

/// A series' label set.
///
/// Invariant once built through `init(sorting:)`: sorted by name in byte order (as Prometheus and
/// the remote-write spec require; Swift's `String <` differs on non-ASCII), names unique.
public struct Labels: Hashable, Sendable, Comparable, CustomStringConvertible {
    public private(set) var labels: [Label]

    /// Wraps labels that are already sorted and unique (as Prometheus returns them); checked in debug builds.
    public init(sorted labels: [Label]) {
        self.labels = labels
        assert(Labels.isSortedAndUnique(labels))
    }

    public init(sorting labels: [Label]) {
        self.labels = labels.sorted { Labels.less($0.name, $1.name) }
    }

    public static func isSortedAndUnique(_ labels: [Label]) -> Bool {
        zip(labels, labels.dropFirst()).allSatisfy { less($0.name, $1.name) }
    }

    public var count: Int { labels.count }

    public subscript(name: String) -> String? {
        let key = Array(name.utf8)
        return labels.first { $0.name == key }?.valueString
    }

    /// The metric name, if the series has one.
    public var metricName: String? { self["__name__"] }

    public func removing(names: Set<String>) -> Labels {
        Labels(sorted: labels.filter { !names.contains($0.nameString) })
    }

    /// Byte-wise lexicographic order on label bytes.
    @inline(__always)
    public static func less(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }

    public static func < (lhs: Labels, rhs: Labels) -> Bool {
        for (l, r) in zip(lhs.labels, rhs.labels) {
            if l.name != r.name { return less(l.name, r.name) }
            if l.value != r.value { return less(l.value, r.value) }
        }
        return lhs.labels.count < rhs.labels.count
    }

    /// PromQL notation, e.g. `up{instance="a:9100",job="node"}`, with values escaped as Go does.
    public var description: String {
        var name = ""
        var rest: [String] = []
        for label in labels {
            if label.nameString == "__name__" { name = label.valueString; continue }
            rest.append("\(label.nameString)=\(SeriesSelector.quote(label.valueString))")
        }
        return rest.isEmpty && !name.isEmpty ? name : "\(name){\(rest.joined(separator: ","))}"
    }
}

/// A 128-bit fingerprint of label bytes, for the sets that only ask "seen before?": 16 bytes whatever
/// the labels weigh, so an input of few series with huge label values cannot grow those sets beyond
/// 16 bytes a series. Two SipHash values of the process's random seed with different prefixes, so a
/// collision is as unlikely as with 128 random bits, and cannot be crafted from outside the process.
public struct Fingerprint: Hashable, Sendable {
    let high: Int
    let low: Int

    public init(_ labels: Labels) {
        self.init(kind: 0) { labels.hash(into: &$0) }
    }

    public init(_ bytes: [UInt8]) {
        self.init(kind: 1) { hasher in bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }

    /// Two hashers fed the same input behind different prefixes; `kind` keeps label sets and byte
    /// strings apart.
    private init(kind: UInt8, _ feed: (inout Hasher) -> Void) {
        var first = Hasher()
        first.combine(kind)
        first.combine(0 as UInt8)
        feed(&first)
        var second = Hasher()
        second.combine(kind)
        second.combine(1 as UInt8)
        feed(&second)
        high = first.finalize()
        low = second.finalize()
    }
}

/// One float sample: the value is kept as its IEEE-754 bit pattern so that NaN payloads
/// (Prometheus' staleness marker is `0x7ff0000000000002`), ±Inf and -0.0 pass through unchanged.
public struct Sample: Hashable, Sendable {
    public var timestampMs: Int64
    public var valueBits: UInt64

    public init(timestampMs: Int64, valueBits: UInt64) {
        self.timestampMs = timestampMs
        self.valueBits = valueBits
    }

    public init(timestampMs: Int64, value: Double) {
        self.init(timestampMs: timestampMs, valueBits: value.bitPattern)
    }

    public var value: Double { Double(bitPattern: valueBits) }

    /// Prometheus' staleness marker bit pattern.
    public static let staleNaNBits: UInt64 = 0x7ff0_0000_0000_0002
}

/// A series with its float samples and its native-histogram samples, each in timestamp order.
/// A series may change between floats and histograms over time; no timestamp holds both.
public struct Series: Hashable, Sendable {
    public var labels: Labels
    public var samples: [Sample]
    public var histograms: [HistogramSample]
    /// The start (created) timestamp of each float sample, parallel to `samples`, 0 where none is
    /// known; empty when the source recorded none (XOR chunks carry none, XOR2 chunks may).
    public var sampleStartTimestampsMs: [Int64]

    public init(labels: Labels, samples: [Sample], histograms: [HistogramSample] = [], sampleStartTimestampsMs: [Int64] = []) {
        self.labels = labels
        self.samples = samples
        self.histograms = histograms
        self.sampleStartTimestampsMs = sampleStartTimestampsMs
    }

    /// The float samples (and their start timestamps) whose timestamps satisfy `keep`.
    public func floats(where keep: (Int64) -> Bool) -> (samples: [Sample], startTimestampsMs: [Int64]) {
        guard !sampleStartTimestampsMs.isEmpty else { return (samples.filter { keep($0.timestampMs) }, []) }
        var kept: [Sample] = [], starts: [Int64] = []
        for (sample, start) in zip(samples, sampleStartTimestampsMs) where keep(sample.timestampMs) {
            kept.append(sample)
            starts.append(start)
        }
        return (kept, starts)
    }

    /// Float samples and native histograms together.
    public var sampleCount: Int { samples.count + histograms.count }

    /// The series with only its samples and histograms inside `window`.
    public func restricted(to window: Range<Int64>) -> Series {
        let floats = floats { window.contains($0) }
        return Series(labels: labels, samples: floats.samples, histograms: histograms.filter { window.contains($0.timestampMs) },
                      sampleStartTimestampsMs: floats.startTimestampsMs)
    }

    /// The earliest and the latest timestamp of either kind, or nil when the series is empty.
    public var firstTimestampMs: Int64? {
        switch (samples.first?.timestampMs, histograms.first?.timestampMs) {
        case let (f?, h?): min(f, h)
        case let (f, h): f ?? h
        }
    }

    public var lastTimestampMs: Int64? {
        switch (samples.last?.timestampMs, histograms.last?.timestampMs) {
        case let (f?, h?): max(f, h)
        case let (f, h): f ?? h
        }
    }
}
