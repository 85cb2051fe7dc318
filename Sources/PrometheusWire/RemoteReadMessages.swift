// The remote-read messages of prometheus/prompb/remote.proto and types.proto, encoded and decoded by hand.
// Field numbers and wire types: see ../../formats/README.md references and the protocol notes in the README.

/// How a label matcher compares (`LabelMatcher.Type`).
public enum MatchType: UInt64, Sendable, CaseIterable {
    case equal = 0
    case notEqual = 1
    case regexMatch = 2
    case regexNoMatch = 3

    /// The PromQL operator.
    public var symbol: String {
        switch self {
        case .equal: "="
        case .notEqual: "!="
        case .regexMatch: "=~"
        case .regexNoMatch: "!~"
        }
    }
}

/// `prometheus.LabelMatcher`: 1 type (enum), 2 name, 3 value.
public struct LabelMatcher: Hashable, Sendable, CustomStringConvertible {
    public var type: MatchType
    public var name: String
    public var value: String

    public init(_ name: String, _ type: MatchType, _ value: String) {
        self.name = name
        self.type = type
        self.value = value
    }

    public var description: String { "\(name)\(type.symbol)\(SeriesSelector.quote(value))" }

    func encode(into writer: inout ProtoWriter) {
        writer.int64(1, Int64(type.rawValue))
        writer.string(2, name)
        writer.string(3, value)
    }
}

/// `prometheus.Query`: 1 start_timestamp_ms, 2 end_timestamp_ms (both inclusive), 3 matchers.
/// Hints (field 4) are never sent: Prometheus lets them override the range.
public struct Query: Hashable, Sendable {
    public var startMs: Int64
    /// Inclusive, as the protocol defines it; callers holding a half-open range pass `end - 1`.
    public var endMsInclusive: Int64
    public var matchers: [LabelMatcher]

    public init(startMs: Int64, endMsInclusive: Int64, matchers: [LabelMatcher]) {
        self.startMs = startMs
        self.endMsInclusive = endMsInclusive
        self.matchers = matchers
    }
}

/// `prometheus.ReadRequest.ResponseType`.
public enum ResponseType: UInt64, Sendable {
    case samples = 0
    case streamedXORChunks = 1
}

/// `prometheus.ReadRequest`: 1 queries, 2 accepted_response_types (packed enum).
public struct ReadRequest: Hashable, Sendable {
    public var queries: [Query]
    public var acceptedResponseTypes: [ResponseType]

    public init(queries: [Query], acceptedResponseTypes: [ResponseType]) {
        self.queries = queries
        self.acceptedResponseTypes = acceptedResponseTypes
    }

    public func encode() -> [UInt8] {
        var writer = ProtoWriter(capacity: 128)
        for query in queries {
            writer.message(1) { q in
                q.int64(1, query.startMs)
                q.int64(2, query.endMsInclusive)
                for matcher in query.matchers {
                    q.message(3) { matcher.encode(into: &$0) }
                }
            }
        }
        if !acceptedResponseTypes.isEmpty {
            var packed = ProtoWriter()
            for type in acceptedResponseTypes { packed.varint(type.rawValue) }
            writer.bytesField(2, packed.bytes)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> ReadRequest {
        var reader = ProtoReader(bytes)
        var request = ReadRequest(queries: [], acceptedResponseTypes: [])
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1:
                try reader.expect(wire, .lengthDelimited, "ReadRequest.queries")
                request.queries.append(try decodeQuery(try reader.subReader()))
            case 2:
                var raw: [UInt64] = []
                try reader.repeatedVarints(wireType: wire, into: &raw)
                for value in raw {
                    guard let type = ResponseType(rawValue: value) else {
                        throw WireError(.unsupported, "unknown accepted response type \(value)")
                    }
                    request.acceptedResponseTypes.append(type)
                }
            default: try reader.skip(wireType: wire)
            }
        }
        return request
    }

    private static func decodeQuery(_ r: ProtoReader) throws -> Query {
        var reader = r
        var query = Query(startMs: 0, endMsInclusive: 0, matchers: [])
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1: query.startMs = Int64(bitPattern: try reader.varint())
            case 2: query.endMsInclusive = Int64(bitPattern: try reader.varint())
            case 3:
                var m = try reader.subReader()
                var matcher = LabelMatcher("", .equal, "")
                while let (f, w) = try m.nextField() {
                    switch f {
                    case 1:
                        let raw = try m.varint()
                        guard let type = MatchType(rawValue: raw) else {
                            throw WireError(.malformed, "unknown matcher type \(raw)")
                        }
                        matcher.type = type
                    case 2: matcher.name = String(decoding: try m.byteArray(), as: UTF8.self)
                    case 3: matcher.value = String(decoding: try m.byteArray(), as: UTF8.self)
                    default: try m.skip(wireType: w)
                    }
                }
                query.matchers.append(matcher)
            default: try reader.skip(wireType: wire)
            }
        }
        return query
    }
}

/// A `prometheus.TimeSeries` as it crosses the wire in SAMPLES read responses and write requests:
/// 1 labels, 2 samples, 3 exemplars (skipped), 4 native histograms (`HistogramMessage`).
public struct WireTimeSeries: Hashable, Sendable {
    public var labels: Labels
    public var samples: [Sample]
    public var histograms: [HistogramSample]

    public init(labels: Labels, samples: [Sample], histograms: [HistogramSample] = []) {
        self.labels = labels
        self.samples = samples
        self.histograms = histograms
    }

    /// Float samples and native histograms together.
    public var sampleCount: Int { samples.count + histograms.count }

    /// Writes the series' fields (labels, samples, then the histograms' messages, `histogramMessages`):
    /// exactly `encodedSize(histogramMessages:)` bytes. This is the import's hot path: nested lengths are
    /// computed, not found by encoding into scratch buffers, and bytes go through a cursor into memory
    /// sized once (`scripts/bench`, "write-request encode": 241 ns per sample with scratch buffers, 41
    /// appending to an array, and the cursor's figure in the README). A histogram's message, whose
    /// length depends on every field, is encoded once by the caller and used for both.
    func write(to out: inout ByteCursor, histogramMessages: [[UInt8]]) {
        for label in labels.labels {
            out.byte(0x0A)  // field 1, length-delimited
            out.varint(UInt64(Self.labelSize(label)))
            out.byte(0x0A)
            out.varint(UInt64(label.name.count))
            out.bytes(label.name)
            out.byte(0x12)
            out.varint(UInt64(label.value.count))
            out.bytes(label.value)
        }
        for sample in samples {
            // proto3 omits zero values: +0.0 (all bits zero) and timestamp 0. A sample is at most
            // 20 bytes, so its length is one byte.
            out.sampleField(valueBits: sample.valueBits, timestampMs: sample.timestampMs, innerSize: Self.sampleSize(sample))
        }
        for message in histogramMessages {
            out.byte(0x22)  // field 4, length-delimited
            out.varint(UInt64(message.count))
            out.bytes(message)
        }
    }

    /// Appends the series' fields to `writer` (for the cold paths that build whole responses).
    public func encode(into writer: inout ProtoWriter) {
        let messages = histogramMessages
        writer.bytes += [UInt8].writing(exactly: encodedSize(histogramMessages: messages)) { write(to: &$0, histogramMessages: messages) }
    }

    /// Each histogram's `prometheus.Histogram` message.
    var histogramMessages: [[UInt8]] { histograms.map(HistogramMessage.encode) }

    /// Bytes `write(to:histogramMessages:)` writes.
    func encodedSize(histogramMessages: [[UInt8]]) -> Int {
        var size = 0
        for label in labels.labels {
            let inner = Self.labelSize(label)
            size += 1 + ProtoWriter.varintSize(UInt64(inner)) + inner
        }
        for sample in samples {
            let inner = Self.sampleSize(sample)
            size += 1 + ProtoWriter.varintSize(UInt64(inner)) + inner
        }
        for message in histogramMessages {
            size += 1 + ProtoWriter.varintSize(UInt64(message.count)) + message.count
        }
        return size
    }

    @inline(__always)
    static func labelSize(_ label: Label) -> Int {
        2 + ProtoWriter.varintSize(UInt64(label.name.count)) + label.name.count
            + ProtoWriter.varintSize(UInt64(label.value.count)) + label.value.count
    }

    /// A sample message: the value (omitted when its bits are zero) and the timestamp (omitted when zero).
    @inline(__always)
    static func sampleSize(_ sample: Sample) -> Int {
        (sample.valueBits == 0 ? 0 : 9)
            + (sample.timestampMs == 0 ? 0 : 1 + ProtoWriter.varintSize(UInt64(bitPattern: sample.timestampMs)))
    }

    static func decode(_ r: ProtoReader) throws -> WireTimeSeries {
        var reader = r
        var labels: [Label] = []
        var samples: [Sample] = []
        var histograms: [HistogramSample] = []
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1:
                try reader.expect(wire, .lengthDelimited, "TimeSeries.labels")
                labels.append(try decodeLabel(try reader.subReader()))
            case 2:
                try reader.expect(wire, .lengthDelimited, "TimeSeries.samples")
                var s = try reader.subReader()
                var sample = Sample(timestampMs: 0, valueBits: 0)
                while let (f, w) = try s.nextField() {
                    switch f {
                    case 1: try s.expect(w, .fixed64, "Sample.value"); sample.valueBits = try s.fixed64()
                    case 2: sample.timestampMs = Int64(bitPattern: try s.varint())
                    default: try s.skip(wireType: w)
                    }
                }
                samples.append(sample)
            case 4:
                try reader.expect(wire, .lengthDelimited, "TimeSeries.histograms")
                histograms.append(try HistogramMessage.decode(try reader.subReader()))
            default: try reader.skip(wireType: wire)
            }
        }
        return WireTimeSeries(labels: Labels(sorting: labels), samples: samples, histograms: histograms)
    }
}

func decodeLabel(_ r: ProtoReader) throws -> Label {
    var reader = r
    var label = Label(name: [], value: [])
    while let (field, wire) = try reader.nextField() {
        switch field {
        case 1: try reader.expect(wire, .lengthDelimited, "Label.name"); label.name = try reader.byteArray()
        case 2: try reader.expect(wire, .lengthDelimited, "Label.value"); label.value = try reader.byteArray()
        default: try reader.skip(wireType: wire)
        }
    }
    return label
}

/// `prometheus.ReadResponse` (SAMPLES): 1 results, each `QueryResult` with 1 timeseries.
public enum ReadResponse {
    /// Decodes a whole response: one array of series per query, in query order.
    public static func decode(_ bytes: [UInt8]) throws -> [[WireTimeSeries]] {
        var reader = ProtoReader(bytes)
        var results: [[WireTimeSeries]] = []
        while let (field, wire) = try reader.nextField() {
            guard field == 1 else { try reader.skip(wireType: wire); continue }
            try reader.expect(wire, .lengthDelimited, "ReadResponse.results")
            var result = try reader.subReader()
            var series: [WireTimeSeries] = []
            while let (f, w) = try result.nextField() {
                guard f == 1 else { try result.skip(wireType: w); continue }
                try result.expect(w, .lengthDelimited, "QueryResult.timeseries")
                series.append(try WireTimeSeries.decode(try result.subReader()))
            }
            results.append(series)
        }
        return results
    }

    public static func encode(_ results: [[WireTimeSeries]]) -> [UInt8] {
        var writer = ProtoWriter()
        for result in results {
            writer.message(1) { r in
                for series in result { r.message(1) { series.encode(into: &$0) } }
            }
        }
        return writer.bytes
    }
}

/// `prometheus.Chunk`: 1 min_time_ms, 2 max_time_ms (inclusive), 3 type, 4 data.
public struct Chunk: Hashable, Sendable {
    /// `Chunk.Encoding` values (`XORChunk`, `HistogramChunk`, `XOR2Chunk`).
    public enum Encoding: UInt64, Sendable {
        case unknown = 0, xor = 1, histogram = 2, floatHistogram = 3, xor2 = 4, histogramST = 5, floatHistogramST = 6
    }

    public var minTimeMs: Int64
    public var maxTimeMs: Int64
    public var encodingRaw: UInt64
    public var data: [UInt8]

    public init(minTimeMs: Int64, maxTimeMs: Int64, encodingRaw: UInt64, data: [UInt8]) {
        self.minTimeMs = minTimeMs
        self.maxTimeMs = maxTimeMs
        self.encodingRaw = encodingRaw
        self.data = data
    }

    public var encoding: Encoding? { Encoding(rawValue: encodingRaw) }
}

/// `prometheus.ChunkedSeries`: 1 labels, 2 chunks.
public struct ChunkedSeries: Hashable, Sendable {
    public var labels: Labels
    public var chunks: [Chunk]

    public init(labels: Labels, chunks: [Chunk]) {
        self.labels = labels
        self.chunks = chunks
    }
}

/// `prometheus.ChunkedReadResponse`, the message of one streamed frame: 1 chunked_series, 2 query_index.
public struct ChunkedReadResponse: Hashable, Sendable {
    public var series: [ChunkedSeries]
    public var queryIndex: Int64

    public init(series: [ChunkedSeries], queryIndex: Int64) {
        self.series = series
        self.queryIndex = queryIndex
    }

    public static func decode(_ bytes: [UInt8]) throws -> ChunkedReadResponse {
        var reader = ProtoReader(bytes)
        var response = ChunkedReadResponse(series: [], queryIndex: 0)
        while let (field, wire) = try reader.nextField() {
            switch field {
            case 1:
                try reader.expect(wire, .lengthDelimited, "ChunkedReadResponse.chunked_series")
                var s = try reader.subReader()
                var labels: [Label] = []
                var chunks: [Chunk] = []
                while let (f, w) = try s.nextField() {
                    switch f {
                    case 1:
                        try s.expect(w, .lengthDelimited, "ChunkedSeries.labels")
                        labels.append(try decodeLabel(try s.subReader()))
                    case 2:
                        try s.expect(w, .lengthDelimited, "ChunkedSeries.chunks")
                        var c = try s.subReader()
                        var chunk = Chunk(minTimeMs: 0, maxTimeMs: 0, encodingRaw: 0, data: [])
                        while let (cf, cw) = try c.nextField() {
                            switch cf {
                            case 1: chunk.minTimeMs = Int64(bitPattern: try c.varint())
                            case 2: chunk.maxTimeMs = Int64(bitPattern: try c.varint())
                            case 3: chunk.encodingRaw = try c.varint()
                            case 4: try c.expect(cw, .lengthDelimited, "Chunk.data"); chunk.data = try c.byteArray()
                            default: try c.skip(wireType: cw)
                            }
                        }
                        chunks.append(chunk)
                    default: try s.skip(wireType: w)
                    }
                }
                response.series.append(ChunkedSeries(labels: Labels(sorting: labels), chunks: chunks))
            case 2: response.queryIndex = Int64(bitPattern: try reader.varint())
            default: try reader.skip(wireType: wire)
            }
        }
        return response
    }

    public func encode() -> [UInt8] {
        var writer = ProtoWriter()
        for s in series {
            writer.message(1) { w in
                for label in s.labels.labels {
                    w.message(1) { l in l.bytesField(1, label.name); l.bytesField(2, label.value) }
                }
                for chunk in s.chunks {
                    w.message(2) { c in
                        c.int64(1, chunk.minTimeMs)
                        c.int64(2, chunk.maxTimeMs)
                        c.int64(3, Int64(chunk.encodingRaw))
                        c.bytesField(4, chunk.data)
                    }
                }
            }
        }
        writer.int64(2, queryIndex)
        return writer.bytes
    }
}
