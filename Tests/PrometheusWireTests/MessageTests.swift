import BlockCompression
import PrometheusWire
import Testing

@Suite struct MessageTests {
    /// The reference's example request (§4.1).
    @Test func encodesTheReferenceReadRequest() {
        let request = ReadRequest(queries: [Query(startMs: 1_700_000_000_000, endMsInclusive: 1_700_003_600_000,
                                                  matchers: [LabelMatcher("__name__", .equal, "up")])],
                                  acceptedResponseTypes: [.streamedXORChunks])
        #expect(request.encode() == [0x0a, 0x1e, 0x08, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31, 0x10, 0x80, 0xad, 0xf1, 0x80, 0xbd,
                                     0x31, 0x1a, 0x0e, 0x12, 0x08, 0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f, 0x1a, 0x02,
                                     0x75, 0x70, 0x12, 0x01, 0x01])
    }

    /// The reference's remote-write example (§2.2).
    @Test func encodesTheReferenceWriteRequest() throws {
        let request = WriteRequest(timeseries: [WireTimeSeries(labels: Labels(sorting: [Label("__name__", "up")]),
                                                               samples: [Sample(timestampMs: 1_700_000_000_000, value: 1)])])
        let bytes = request.encode()
        #expect(bytes == [0x0a, 0x22, 0x0a, 0x0e, 0x0a, 0x08, 0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f, 0x12, 0x02,
                          0x75, 0x70, 0x12, 0x10, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31])
        #expect(try WriteRequest.decode(bytes) == request)
    }

    /// The in-place encoder equals the straightforward nested one (each message encoded into a scratch
    /// writer) on series with empty label values, zero timestamps, zero and -0.0 values, NaN payloads,
    /// negative timestamps and long labels whose lengths take two varint bytes.
    @Test func inPlaceEncodingEqualsNestedEncoding() throws {
        var random = SystemRandomNumberGenerator()
        let specials: [UInt64] = [0, (-0.0).bitPattern, Sample.staleNaNBits, 0x7FF8_0000_0000_0001, Double.infinity.bitPattern]
        let series = (0..<40).map { i in
            WireTimeSeries(labels: Labels(sorting: [Label("__name__", "m\(i)"), Label("empty", ""),
                                                    Label("long", String(repeating: "x", count: i * 9))]),
                           samples: (0..<(i * 7)).map { n in
                               Sample(timestampMs: n % 11 == 0 ? 0 : n % 13 == 0 ? -Int64(n) : Int64.random(in: 0...(1 << 45), using: &random),
                                      valueBits: n % 5 == 0 ? specials[n % specials.count] : UInt64.random(in: 0...UInt64.max, using: &random))
                           })
        }
        var nested = ProtoWriter()
        for s in series {
            nested.message(1) { w in
                for label in s.labels.labels { w.message(1) { l in l.bytesField(1, label.name); l.bytesField(2, label.value) } }
                for sample in s.samples { w.message(2) { x in x.double(1, bits: sample.valueBits); x.int64(2, sample.timestampMs) } }
            }
        }
        let request = WriteRequest(timeseries: series)
        #expect(request.encode() == nested.bytes)
        #expect(try WriteRequest.decode(request.encode()) == request)
    }

    @Test func writesMinusZeroButOmitsPlusZero() throws {
        let labels = Labels(sorting: [Label("__name__", "z")])
        let minus = WriteRequest(timeseries: [WireTimeSeries(labels: labels, samples: [Sample(timestampMs: 1, value: -0.0)])])
        let plus = WriteRequest(timeseries: [WireTimeSeries(labels: labels, samples: [Sample(timestampMs: 1, value: 0.0)])])
        #expect(minus.encode().count == plus.encode().count + 9)
        #expect(try WriteRequest.decode(minus.encode()).timeseries[0].samples[0].valueBits == (-0.0).bitPattern)
    }

    @Test func decodesTheCapturedRequest() throws {
        let body = try Snappy.decompress(try Fixtures.bytes("samples_regex_neq.request.snappy"), maxOutputBytes: 1 << 20)
        let request = try ReadRequest.decode(body)
        #expect(request.acceptedResponseTypes == [.samples])
        #expect(request.queries.count == 1)
        #expect(request.queries[0].startMs == 1_795_503_600_000)
        #expect(request.queries[0].endMsInclusive == 1_795_505_399_999)
        #expect(request.queries[0].matchers == [LabelMatcher("__name__", .regexMatch, "node_filesystem_.*"),
                                                LabelMatcher("instance", .equal, "10.2.0.0:9100"),
                                                LabelMatcher("mountpoint", .notEqual, "/run")])
        // Our encoder produces the same bytes as Prometheus' client did for the same request.
        #expect(request.encode() == body)
    }

    @Test func decodesACapturedSamplesResponse() throws {
        let body = try Snappy.decompress(try Fixtures.bytes("samples_single_counter.response.snappy"), maxOutputBytes: 1 << 20)
        let results = try ReadResponse.decode(body)
        #expect(results.count == 1)
        #expect(results[0].count == 1)
        #expect(results[0][0].samples.count == 240)
        #expect(results[0][0].labels["instance"] == "10.1.0.0:8080")
        #expect(ReadResponse.encode(results) == body)
    }

    /// The same matchers and range fetched as chunks and as samples: the XOR decoder must agree with
    /// Prometheus' own decoding, sample for sample and bit for bit.
    @Test func chunkedAndSampledCapturesAgree() throws {
        let sampled = try ReadResponse.decode(
            Snappy.decompress(try Fixtures.bytes("samples_regex_neq.response.snappy"), maxOutputBytes: 1 << 20))[0]
        var decoder = ChunkedFrameDecoder()
        decoder.append(try Fixtures.bytes("chunks_regex_neq.response.stream"))
        var chunked: [Labels: [Sample]] = [:]
        while let frame = try decoder.nextFrame() {
            let response = try ChunkedReadResponse.decode(frame)
            #expect(response.queryIndex == 0)
            #expect(try ChunkedReadResponse.decode(response.encode()) == response)
            for series in response.series {
                for chunk in series.chunks {
                    #expect(chunk.encoding == .xor)
                    let samples = try XORChunk.decode(chunk.data)
                    #expect(samples.first?.timestampMs == chunk.minTimeMs)
                    #expect(samples.last?.timestampMs == chunk.maxTimeMs)
                    chunked[series.labels, default: []] += samples.filter {
                        $0.timestampMs >= 1_795_503_600_000 && $0.timestampMs <= 1_795_505_399_999
                    }
                }
            }
        }
        try decoder.finish()
        #expect(sampled.count == 4)
        #expect(chunked.count == 4)
        for series in sampled { #expect(chunked[series.labels] == series.samples) }
        #expect(chunked.values.reduce(0) { $0 + $1.count } == 480)
    }

    @Test func countsTheHistogramBucketCapture() throws {
        var decoder = ChunkedFrameDecoder()
        decoder.append(try Fixtures.bytes("chunks_histogram.response.stream"))
        var series = 0
        var samples = 0
        while let frame = try decoder.nextFrame() {
            for s in try ChunkedReadResponse.decode(frame).series {
                series += 1
                for chunk in s.chunks { samples += try XORChunk.decode(chunk.data).count }
            }
        }
        #expect(series == 12)
        #expect(samples == 2880)
    }

    @Test func refusesTruncatedMessages() throws {
        let body = try Snappy.decompress(try Fixtures.bytes("samples_single_counter.response.snappy"), maxOutputBytes: 1 << 20)
        #expect(throws: WireError.self) { try ReadResponse.decode(Array(body.dropLast(5))) }
        // A length that points past the end.
        #expect(throws: WireError.self) { try ReadResponse.decode([0x0a, 0xff, 0x01, 0x00]) }
    }
}
