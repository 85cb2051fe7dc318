import ArchiveFormat
import BlockCompression
import Foundation
import PeerHarness
import PrometheusWire

/// Nanoseconds per sample of the hot paths, in this process, best of three runs each.
enum CodecBenchmarks {
    struct Result {
        let name: String
        let nanosecondsPerSample: Double
        let note: String
    }

    static func run(series unsorted: [Series]) throws -> [Result] {
        // In the order a remote-read source returns them, as the export stores them.
        let series = unsorted.sorted { $0.labels < $1.labels }
        let samples = series.reduce(0) { $0 + $1.samples.count }
        func best(_ body: () throws -> Void) rethrows -> Double {
            var fastest = Double.infinity
            for _ in 0..<3 {
                let began = ContinuousClock.now
                try body()
                let d = ContinuousClock.now - began
                fastest = min(fastest, Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9)
            }
            return fastest / Double(samples)
        }

        let chunks = series.map { s in
            stride(from: 0, to: s.samples.count, by: 120).map { XORChunk.encode(Array(s.samples[$0..<min($0 + 120, s.samples.count)])) }
        }
        var decoded = 0
        let chunkDecode = try best {
            decoded = 0
            var samples: [Sample] = []
            for list in chunks { for chunk in list { samples.removeAll(keepingCapacity: true); try XORChunk.decode(chunk, appendingTo: &samples); decoded += samples.count } }
        }

        var segment: [UInt8] = []
        func encode(level: Int) throws -> Double {
            try best {
                let encoder = try SegmentEncoder(compressionLevel: level)
                segment = encoder.start()
                for s in series { segment += try encoder.append(labels: s.labels, samples: s.samples[...]) }
                segment += try encoder.finish()
            }
        }
        // The levels worth choosing between: the export's default is the one after which a higher
        // level buys little size for its time.
        let levels = [1, 3, 6, 9, 15]
        var encodes: [Result] = []
        for level in levels {
            let nanoseconds = try encode(level: level)
            encodes.append(Result(name: "segment encode (zstd \(level))", nanosecondsPerSample: nanoseconds,
                                  note: String(format: "%.3f bytes/sample", Double(segment.count) / Double(samples))))
        }
        var roundTrip = SegmentDecoder(name: "bench", source: MemoryByteSource(segment))
        var back: [Series] = []
        while let block = try roundTrip.nextBlock() { back += block }
        guard back.sorted(by: { $0.labels < $1.labels }) == series else { throw BenchError("the segment did not decode to the series encoded") }
        let segmentDecode = try best {
            var decoder = SegmentDecoder(name: "bench", source: MemoryByteSource(segment))
            decoded = 0
            while let block = try decoder.nextBlock() { for s in block { decoded += s.samples.count } }
        }

        var batches: [[WireTimeSeries]] = [[]]
        var inBatch = 0
        for s in series {
            batches[batches.count - 1].append(WireTimeSeries(labels: s.labels, samples: s.samples))
            inBatch += s.samples.count
            if inBatch >= 10_000 { batches.append([]); inBatch = 0 }
        }
        var encoded: [[UInt8]] = []
        let writeEncode = best { encoded = batches.map { WriteRequest(timeseries: $0).encode() } }
        let snappy = best { for body in encoded { _ = Snappy.compress(body) } }
        let encodedBytes = encoded.reduce(0) { $0 + $1.count }

        return [
            Result(name: "XOR chunk decode", nanosecondsPerSample: chunkDecode, note: "120-sample chunks, as Prometheus streams them"),
        ] + encodes + [
            Result(name: "segment decode", nanosecondsPerSample: segmentDecode, note: "checksums, zstd, records"),
            Result(name: "write-request encode", nanosecondsPerSample: writeEncode,
                   note: String(format: "hand-written protobuf, %.1f bytes/sample", Double(encodedBytes) / Double(samples))),
            Result(name: "snappy compress (libsnappy)", nanosecondsPerSample: snappy, note: "the write request's body"),
        ]
    }
}
