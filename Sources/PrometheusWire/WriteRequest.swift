/// `prometheus.WriteRequest` (remote write 1.0): 1 timeseries. Metadata (field 3) is not sent.
public struct WriteRequest: Hashable, Sendable {
    public var timeseries: [WireTimeSeries]

    public init(timeseries: [WireTimeSeries]) {
        self.timeseries = timeseries
    }

    /// Encodes the request. Labels are written in the order held, which `Labels` keeps sorted.
    public func encode() -> [UInt8] {
        let messages = timeseries.map(\.histogramMessages)
        let sizes = zip(timeseries, messages).map { $0.encodedSize(histogramMessages: $1) }
        let total = sizes.reduce(0) { $0 + 1 + ProtoWriter.varintSize(UInt64($1)) + $1 }
        return [UInt8].writing(exactly: total) { out in
            for ((series, size), histogramMessages) in zip(zip(timeseries, sizes), messages) {
                out.byte(0x0A)  // field 1, length-delimited
                out.varint(UInt64(size))
                series.write(to: &out, histogramMessages: histogramMessages)
            }
        }
    }

    public static func decode(_ bytes: [UInt8]) throws -> WriteRequest {
        var reader = ProtoReader(bytes)
        var request = WriteRequest(timeseries: [])
        while let (field, wire) = try reader.nextField() {
            guard field == 1 else { try reader.skip(wireType: wire); continue }
            try reader.expect(wire, .lengthDelimited, "WriteRequest.timeseries")
            request.timeseries.append(try WireTimeSeries.decode(try reader.subReader()))
        }
        return request
    }
}
